import { Command, CommanderError } from '@commander-js/extra-typings';
import { EXIT } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import type { CliContext } from './context.js';
import { type Io, processIo } from './output.js';

/** Command groups; each file registers its commands and imports its library lazily. */
const GROUPS: Array<(program: Command, ctx: CliContext) => Promise<void>> = [
  async (p, c) => (await import('./job.js')).register(p, c),
  async (p, c) => (await import('./sync.js')).register(p, c),
  async (p, c) => (await import('./lease.js')).register(p, c),
  async (p, c) => (await import('./session.js')).register(p, c),
  async (p, c) => (await import('./pipeline.js')).register(p, c),
  async (p, c) => (await import('./run.js')).register(p, c),
  async (p, c) => (await import('./submit.js')).register(p, c),
  async (p, c) => (await import('./events.js')).register(p, c),
  async (p, c) => (await import('./serve.js')).register(p, c),
  async (p, c) => (await import('./token.js')).register(p, c),
  async (p, c) => (await import('./host.js')).register(p, c),
  async (p, c) => (await import('./config.js')).register(p, c),
];

export function buildProgram(ctx: CliContext): Command {
  const program = new Command()
    .name('berth')
    .description(
      'Run work on HPC machines: SLURM jobs, leases, tmux sessions, monitored runs and pipelines.',
    )
    .version(VERSION, '-V, --version', 'print the berth version')
    .option('--json', 'print machine-readable JSON')
    .option('--debug', 'show stack traces and internal details')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => ctx.io.out(s),
      writeErr: (s) => ctx.io.err(s),
    })
    .exitOverride();
  return program as unknown as Command;
}

/** Run the CLI; returns the exit code (never calls process.exit). */
export async function main(argv: string[], io: Io = processIo, env = process.env): Promise<number> {
  const ctx: CliContext = { io, env, cwd: process.cwd(), exitCode: EXIT.ok };
  const program = buildProgram(ctx);
  // --version and bare --help need no command files: keep start-up light.
  const args = argv.slice(2);
  if (!(args.length === 1 && /^(-V|--version)$/.test(args[0] ?? ''))) {
    for (const group of GROUPS) await group(program, ctx);
    for (const cmd of program.commands) applyExitOverride(cmd as unknown as Command, ctx);
  }
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
      if (e.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    throw e;
  }
  return ctx.exitCode;
}

function applyExitOverride(cmd: Command, ctx: CliContext): void {
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: (s) => ctx.io.out(s), writeErr: (s) => ctx.io.err(s) });
  cmd.showHelpAfterError('(run with --help for usage)');
  for (const sub of cmd.commands) applyExitOverride(sub as unknown as Command, ctx);
}
