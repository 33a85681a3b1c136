import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { parseChain } from '../../src/lease/chain.js';
import { type HoldScriptInput, renderHoldScript } from '../../src/lease/hold-script.js';
import { leaseJobSpec } from '../../src/lease/spec.js';
import { quote } from '../../src/transport/quote.js';

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'lease');
const THIS_FILE = 'test/unit/lease-hold-script.test.ts';
const UPDATE = process.env.BERTH_UPDATE_GOLDEN === '1';
const BINS = { sbatch: '/usr/bin/sbatch', squeue: '/usr/bin/squeue', tmux: '/usr/bin/tmux' };

function input(over: Partial<HoldScriptInput> & { resources?: Record<string, unknown> } = {}) {
  const { resources, ...rest } = over;
  return {
    name: 'demo',
    dir: '/home/u/berth/leases/demo',
    spec: leaseJobSpec('demo', {}, resources ?? { cpus: 1, time: '4h' }),
    persistent: false,
    tmux: false,
    bins: BINS,
    ...rest,
  } satisfies HoldScriptInput;
}

const CASES: Record<string, HoldScriptInput> = {
  plain: input(),
  persistent: input({ persistent: true, leadS: 600 }),
  'persistent-tmux': input({
    persistent: true,
    leadS: 90,
    tmux: true,
    resources: { cpus: 2, mem: '4G', time: '0:03:00', partition: 'debug' },
  }),
  'hold-body': input({
    persistent: true,
    leadS: 300,
    holdBody: 'jupyter lab --port 8888 --no-browser\necho \'done\' "$HOME" $(date) `id`\n',
  }),
  hostile: input({
    dir: '/scratch/a $(dir) `x`;y/leases/demo',
    holdBody: "printf '%s\\n' '$(touch pwned)' \"it's\"; exit 0",
  }),
};

describe('renderHoldScript golden files', () => {
  for (const [name, value] of Object.entries(CASES)) {
    it(`renders ${name} as recorded, as valid bash`, () => {
      const script = renderHoldScript(value);
      expectGolden(`${name}.sh`, script);
      const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  }

  it('puts every directive before the first command', () => {
    const lines = renderHoldScript(CASES['persistent-tmux']!).split('\n');
    const lastDirective = lines.findLastIndex((l) => l.startsWith('#SBATCH'));
    const firstCommand = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(lastDirective).toBeLessThan(firstCommand);
    expect(lines).toContain('#SBATCH --signal=B:USR1@90');
    expect(lines).toContain('#SBATCH --job-name=berth-lease-demo');
    expect(lines).toContain('#SBATCH --output=/home/u/berth/leases/demo/job-%j.out');
    expect(lines).toContain('#SBATCH --mem=4G');
  });

  it('resubmits the stable copy with the sbatch path resolved at render time', () => {
    const script = renderHoldScript(
      input({ persistent: true, leadS: 60, bins: { ...BINS, sbatch: '/opt/slurm/bin/sbatch' } }),
    );
    expect(script).toContain('sbatch_bin=/opt/slurm/bin/sbatch');
    expect(script).toContain('"$sbatch_bin" --parsable');
    expect(script).toContain('"$lease_dir/hold.sh"');
    expect(script).toMatch(/sleep "\$pause" &\n\s+sleep_pid=\$!\n.*\n\s+wait "\$sleep_pid"/);
  });
});

describe('renderHoldScript refuses', () => {
  it('a lead that is not shorter than the walltime', () => {
    const long = input({ persistent: true, leadS: 180, resources: { time: '0:03:00' } });
    expect(() => renderHoldScript(long)).toThrow(/must be shorter than the walltime/);
    const longer = input({ persistent: true, leadS: 4000, resources: { time: '1h' } });
    expect(() => renderHoldScript(longer)).toThrow(UsageError);
    expect(() =>
      renderHoldScript(input({ persistent: true, leadS: 179, resources: { time: '0:03:00' } })),
    ).not.toThrow();
  });

  it('a persistent lease without a walltime', () => {
    expect(() => renderHoldScript(input({ persistent: true, leadS: 60, resources: {} }))).toThrow(
      /needs a walltime/,
    );
  });

  it('hostile lease names, unusable directories and bad hold bodies', () => {
    for (const name of ['a;b', '$(touch x)', '../x', 'a b', '', "it's"]) {
      expect(() => renderHoldScript(input({ name }))).toThrow(UsageError);
    }
    for (const dir of ['relative/x', '/a\nb', '/a\\b', '/a%j', '/x/hetjob', "/it's", '/a"b']) {
      expect(() => renderHoldScript(input({ dir }))).toThrow(UsageError);
    }
    for (const holdBody of ['', '  \n', 'a\0b', 'bad \uFFFD', 'x'.repeat(70_000)]) {
      expect(() => renderHoldScript(input({ holdBody }))).toThrow(UsageError);
    }
    expect(() =>
      renderHoldScript(input({ tmux: true, bins: { sbatch: '/s', squeue: '/q' } })),
    ).toThrow(/needs tmux/);
  });
});

describe('the hold script, run by bash with fake sbatch/squeue/tmux', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function setup(over: Partial<HoldScriptInput> = {}) {
    const root = mkdtempSync(join(tmpdir(), 'berth-hold $(x) '));
    dirs.push(root);
    const dir = join(root, 'leases', 'demo');
    mkdirSync(join(dir, 'tenants'), { recursive: true });
    const bin = join(root, 'bin');
    mkdirSync(bin);
    const fake = (name: string, body: string) => {
      const file = join(bin, name);
      writeFileSync(
        file,
        `#!/bin/bash\nprintf '%s\\n' "$*" >> ${quote(join(root, `${name}.calls`))}\n${body}\n`,
      );
      chmodSync(file, 0o755);
      return file;
    };
    const bins = {
      sbatch: fake(
        'sbatch',
        'if [ -n "$FAKE_FAIL" ]; then echo "sbatch: error: Batch job submission failed: * nope" >&2; exit 1; fi\necho 4242',
      ),
      squeue: fake('squeue', 'echo RUNNING'),
      tmux: fake('tmux', 'true'),
    };
    const script = renderHoldScript({ ...input({ dir, bins, tmux: true }), ...over, dir, bins });
    writeFileSync(join(dir, 'hold.sh'), script);
    const calls = (name: string) => {
      const f = join(root, `${name}.calls`);
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    };
    const chain = () => {
      const f = join(dir, 'chain');
      return existsSync(f) ? parseChain(readFileSync(f, 'utf8')) : [];
    };
    const start = (env: Record<string, string> = {}) => {
      const child = spawn('bash', [join(dir, 'hold.sh')], {
        env: { PATH: process.env.PATH, SLURM_JOB_ID: '41', SLURMD_NODENAME: 'n9', ...env },
        cwd: root,
        stdio: 'ignore',
      });
      children.push(child);
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      return { child, exited };
    };
    return { root, dir, calls, chain, start };
  }

  async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
    const t0 = Date.now();
    while (!check()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('on USR1 resubmits the stable copy, notes the new job, hands tenants over; TERM ends it', async () => {
    const t = setup({ persistent: true, leadS: 60 });
    writeFileSync(join(t.dir, 'tenants', 't1.sh'), 'true\n');
    writeFileSync(join(t.dir, 'tenants', 'exp.v2.sh'), 'true\n');
    const { child, exited } = t.start();
    await until('start', () => t.chain().filter((e) => e.event === 'tenant').length === 2);
    expect(t.chain()[0]).toMatchObject({ jobId: '41', event: 'start', detail: 'n9' });
    expect(t.calls('tmux')).toContain('-L berth-lease-41 new-session -d -s _root');
    expect(t.calls('tmux')).toContain('new-session -d -s t1 bash -l ');
    // tmux would rename exp.v2 to exp_v2: berth asks for that name, and ends it by it
    expect(t.calls('tmux')).toContain('new-session -d -s exp_v2 bash -l ');
    expect(t.chain().map((e) => e.detail)).toContain('exp.v2');
    child.kill('SIGUSR1');
    await until('handover', () => t.chain().some((e) => e.event === 'handover'));
    const events = t.chain().map((e) => `${e.event} ${e.detail}`.trim());
    expect(events).toContain('resubmit-ok 4242');
    expect(events).toContain('handover 4242');
    expect(t.calls('sbatch').trim()).toBe(
      `--parsable --export=ALL,BERTH_LEASE_PREV=41 ${join(t.dir, 'hold.sh')}`,
    );
    expect(t.calls('tmux')).toContain('kill-session -t =t1');
    expect(t.calls('tmux')).toContain('kill-session -t =exp_v2');
    child.kill('SIGUSR1'); // a second signal does not submit a second successor
    await new Promise((r) => setTimeout(r, 300));
    expect(t.calls('sbatch').trim().split('\n')).toHaveLength(1);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(t.chain().at(-1)?.event).toBe('end');
    expect(t.calls('tmux')).toContain('-L berth-lease-41 kill-server');
  });

  it('records a failed resubmit with sbatch’s message', async () => {
    const t = setup({ persistent: true, leadS: 60, tmux: false });
    const { child, exited } = t.start({ FAKE_FAIL: '1' });
    await until('start', () => t.chain().length > 0);
    child.kill('SIGUSR1');
    await until('failure', () => t.chain().some((e) => e.event === 'resubmit-failed'));
    const failed = t.chain().find((e) => e.event === 'resubmit-failed')!;
    expect(failed.detail).toBe('rc=1 sbatch: error: Batch job submission failed: * nope');
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
  });

  it('does not resubmit a released lease', async () => {
    const t = setup({ persistent: true, leadS: 60, tmux: false });
    writeFileSync(join(t.dir, 'released'), '');
    const { child, exited } = t.start();
    await until('start', () => t.chain().length > 0);
    child.kill('SIGUSR1');
    await until('skip', () => t.chain().some((e) => e.event === 'resubmit-skipped'));
    expect(t.calls('sbatch')).toBe('');
    child.kill('SIGTERM');
    await exited;
  });

  it('as a successor waits for the handover note, then starts the tenants', async () => {
    const t = setup({ persistent: true, leadS: 60 });
    writeFileSync(join(t.dir, 'tenants', 't1.sh'), 'true\n');
    writeFileSync(join(t.dir, 'chain'), '1700000000 40 handover 41\n');
    const { child, exited } = t.start({ BERTH_LEASE_PREV: '40' });
    await until('tenant', () => t.chain().some((e) => e.event === 'tenant'));
    expect(t.chain().find((e) => e.event === 'tenant')).toMatchObject({
      jobId: '41',
      detail: 't1',
    });
    child.kill('SIGTERM');
    await exited;
  });

  it('runs a hold body as its own bash (quoted, nothing expands) and ends with it', async () => {
    const t = setup({
      tmux: false,
      holdBody: "printf '%s|' '$(touch pwned)' \"it's\" > out.txt; exit 5",
    });
    const { exited } = t.start();
    expect(await exited).toBe(5);
    expect(t.chain().map((e) => e.event)).toEqual(['start', 'body-exit']);
    expect(readFileSync(join(t.root, 'out.txt'), 'utf8')).toBe("$(touch pwned)|it's|");
    expect(existsSync(join(t.root, 'pwned'))).toBe(false);
    expect(existsSync(join(t.dir, 'pwned'))).toBe(false);
  });
});

function expectGolden(name: string, actual: string): void {
  const path = join(GOLDEN_DIR, name);
  if (UPDATE) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  const rerecord = `re-record with: BERTH_UPDATE_GOLDEN=1 npx vitest run --config vitest.unit.config.ts ${THIS_FILE}`;
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing; ${rerecord}`);
  const expected = readFileSync(path, 'utf8');
  if (expected === actual) return;
  const a = expected.split('\n');
  const b = actual.split('\n');
  const diff: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) diff.push(`line ${i + 1}:\n- ${a[i] ?? ''}\n+ ${b[i] ?? ''}`);
  }
  throw new Error(
    `output differs from golden file ${path}:\n${diff.slice(0, 10).join('\n')}\n${rerecord}`,
  );
}
