import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';

let root: string;
let project: string;
let env: Record<string, string>;
let before: string;

function capture(): Io & { stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

async function berth(...args: string[]) {
  const io = capture();
  const code = await main(['node', 'berth', ...args], io, env);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

// main() reads the project file from process.cwd(): run each test in its own temp project.
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'berth-config-cli-'));
  project = join(root, 'project');
  mkdirSync(join(project, 'sub'), { recursive: true });
  env = { HOME: join(root, 'home'), XDG_CONFIG_HOME: join(root, 'xdg'), PATH: '/nonexistent' };
  before = process.cwd();
  process.chdir(join(project, 'sub'));
});

afterEach(() => {
  process.chdir(before);
  rmSync(root, { recursive: true, force: true });
});

describe('berth config show', () => {
  it('--json prints config, sources and files, with the dbUrl password masked', async () => {
    const file = join(project, 'berth.yaml');
    writeFileSync(file, 'defaultHost: c\nhosts:\n  c:\n    ssh: alice@c.example.org\n');
    env.BERTH_DB_URL = 'postgres://berth:s3cret@db.example.org/berth';
    const r = await berth('config', 'show', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toContain('s3cret');
    const shown = JSON.parse(r.stdout);
    expect(shown.config.dbUrl).toBe('postgres://berth:***@db.example.org/berth');
    expect(shown.config.defaultHost).toBe('c');
    expect(shown.config.hosts).toEqual({
      local: { scheduler: 'auto' },
      c: { ssh: 'alice@c.example.org', scheduler: 'auto' },
    });
    expect(shown.sources).toMatchObject({
      dbUrl: 'env:BERTH_DB_URL',
      defaultHost: `project:${file}`,
      'hosts.c.ssh': `project:${file}`,
      'hosts.c.scheduler': 'default',
      'ssh.connectTimeoutS': 'default',
    });
    expect(shown.files).toEqual([
      { layer: 'user', path: join(root, 'xdg', 'berth', 'config.yaml'), exists: false },
      { layer: 'project', path: file, exists: true },
    ]);
    expect(shown.config.sources).toBeUndefined();
  });

  it('text: aligned key, value and source rows; flags show as the flag layer', async () => {
    env.BERTH_LOG_LEVEL = 'info';
    env.BERTH_DB_URL = 'mysql://root:pw@localhost/berth';
    env.BERTH_TYPO = '1';
    const r = await berth('config', 'show', '--log-level', 'debug');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^KEY\s+VALUE\s+SOURCE$/);
    expect(lines).toContainEqual(expect.stringMatching(/^logLevel\s+debug\s+flag:--log-level$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^dbUrl\s+mysql:\/\/root:\*\*\*@localhost\/berth\s+env:BERTH_DB_URL$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^ssh\.connectTimeoutS\s+10\s+default$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^hosts\.local\.scheduler\s+auto\s+default$/),
    );
    const valueColumn = lines[0]!.indexOf('VALUE');
    for (const line of lines.slice(1)) expect(line[valueColumn - 1]).toBe(' ');
    expect(r.stdout).not.toContain(':pw@');
    expect(r.stderr).toContain('note: BERTH_TYPO is not a configuration variable');
  });

  it('webhooks, api and serve: sources shown, secrets and webhook paths hidden in both forms', async () => {
    const file = join(project, 'berth.yaml');
    writeFileSync(
      file,
      [
        'serve:',
        '  port: 9123',
        'webhooks:',
        '  default:',
        '    url: https://hooks.slack.com/services/T0/B0/SLACKPATH',
        '    kind: slack',
        '  phone:',
        '    url: https://ntfy.sh/TOPICNAME',
        '    secret: NTFYSECRET',
        '    events: [FAILED, COMPLETED]',
        '',
      ].join('\n'),
    );
    env.BERTH_API_URL = 'http://login1:8787';
    env.BERTH_API_TOKEN = 'berth_APITOKEN';
    env.BERTH_WEBHOOK_SECRET = 'HMACSECRET';
    const json = await berth('config', 'show', '--json');
    expect(json.code, json.stderr).toBe(0);
    const text = await berth('config', 'show');
    expect(text.code, text.stderr).toBe(0);
    for (const out of [json.stdout, text.stdout, json.stderr, text.stderr]) {
      for (const secret of ['SLACKPATH', 'TOPICNAME', 'NTFYSECRET', 'APITOKEN', 'HMACSECRET']) {
        expect(out).not.toContain(secret);
      }
    }
    const shown = JSON.parse(json.stdout);
    expect(shown.config.webhooks).toEqual({
      default: { url: 'https://hooks.slack.com/…', kind: 'slack', secret: '***' },
      phone: { url: 'https://ntfy.sh/…', secret: '***', events: ['FAILED', 'COMPLETED'] },
    });
    expect(shown.config.api).toEqual({ url: 'http://login1:8787', token: '***' });
    expect(shown.config.serve).toMatchObject({ port: 9123, bind: '127.0.0.1' });
    expect(shown.sources).toMatchObject({
      'webhooks.default.url': `project:${file}`,
      'webhooks.default.secret': 'env:BERTH_WEBHOOK_SECRET',
      'webhooks.phone.events': `project:${file}`,
      'api.token': 'env:BERTH_API_TOKEN',
      'serve.port': `project:${file}`,
      'serve.bind': 'default',
    });
    const lines = text.stdout.split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(/^webhooks\.default\.secret\s+\*\*\*\s+env:BERTH_WEBHOOK_SECRET$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^webhooks\.phone\.events\s+\["FAILED","COMPLETED"\]\s+project:/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^api\.token\s+\*\*\*\s+env:/));
  });

  it('a secret in a file other users can read gets a note; a mode-600 file does not', async () => {
    const file = join(project, 'berth.yaml');
    writeFileSync(file, 'api:\n  token: berth_SHARED\n', { mode: 0o644 });
    chmodSync(file, 0o644);
    const open = await berth('config', 'show', '--json');
    expect(open.code, open.stderr).toBe(0);
    expect(open.stderr).toBe(
      `note: api.token comes from ${file}, which other users can read (mode 644); keep secrets in a mode-600 user file or the environment`,
    );
    expect(open.stderr + open.stdout).not.toContain('berth_SHARED');
    chmodSync(file, 0o600);
    expect((await berth('config', 'show', '--json')).stderr).toBe('');
  });

  it('a bad webhook value in berth.yaml: FILE:LINE:COL, the secret not repeated', async () => {
    const file = join(project, 'berth.yaml');
    writeFileSync(file, 'webhooks:\n  ops:\n    url: https://h/x\n    secret: 31337\n');
    const r = await berth('config', 'show');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${file}:4:13: webhooks.ops.secret: expected string, got a number (not shown)`,
    );
    expect(r.stderr).not.toContain('31337');
  });

  it('a broken config file: exit 2 and FILE:LINE:COL on stderr', async () => {
    const file = join(project, 'berth.yaml');
    writeFileSync(file, 'hosts:\n  c:\n    ssh: c\n    schedular: slurm\n');
    const r = await berth('config', 'show');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      `berth: error: ${file}:4:5: unknown key "schedular" in hosts.c; valid keys are ssh, sshConfig, scheduler, root, slurm, poll`,
    );
    expect(r.stderr).toContain('hint: ');
  });

  it('a bad env value: exit 2 naming the variable', async () => {
    env.BERTH_SSH_CONNECT_TIMEOUT = 'abc';
    const r = await berth('config', 'show', '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({
      error: 'E_USAGE',
      message: 'BERTH_SSH_CONNECT_TIMEOUT="abc": expected number, got string "abc"',
    });
  });
});

describe('berth config path', () => {
  it('lists the user and project files and whether they exist', async () => {
    const user = join(root, 'xdg', 'berth', 'config.yaml');
    mkdirSync(join(root, 'xdg', 'berth'), { recursive: true });
    writeFileSync(user, '# empty\n');
    const r = await berth('config', 'path', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      files: [
        { layer: 'user', path: user, exists: true },
        { layer: 'project', path: join(project, 'sub', 'berth.yaml'), exists: false },
      ],
    });
    const text = await berth('config', 'path');
    expect(text.stdout.split('\n')).toEqual([
      expect.stringMatching(/^LAYER\s+PATH\s+EXISTS$/),
      expect.stringMatching(new RegExp(`^user\\s+${user}\\s+yes$`)),
      expect.stringMatching(/^project\s+\S+berth\.yaml\s+no$/),
    ]);
  });
});
