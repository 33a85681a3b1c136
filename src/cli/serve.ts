import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../core/errors.js';
import { act, type CliContext } from './context.js';
import { openCliStore } from './store.js';

const AFTER = `
The API needs a token: create one with \`berth token create NAME\` (the secret is shown once)
and give it to clients as api.token and api.url (berth.yaml or the user file), or as
BERTH_API_TOKEN and BERTH_API_URL=http://HOST:PORT.
Binding to anything but loopback exposes the API to the network: put it behind TLS.
Every flag has a configuration key (serve.bind, serve.port, …) and a BERTH_SERVE_* variable;
flags win (docs/configuration.md).
SIGTERM or Ctrl-C stops it gracefully: requests in flight finish, nothing acknowledged is lost.
Routes, limits and errors: docs/api.md.`;

export async function register(program: Command, ctx: CliContext): Promise<void> {
  program
    .command('serve')
    .description('serve the HTTP API: event ingest, job and event queries, live stream, metrics')
    .option('--bind <address>', 'address to listen on (default serve.bind: 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0: any free port (default serve.port: 8787)')
    .option('--body-limit <size>', 'largest request body: bytes, or 512K, 1M (default 1M)')
    .option('--max-batch <n>', 'most events in one ingest request (default 1000)')
    .option('--rate <n>', 'requests per second per token, sustained; 0: no limit (default 500)')
    .option('--burst <n>', 'requests per token allowed at once (default 1000)')
    .option('--public-metrics', 'serve /metrics without a token')
    .option('--shutdown-timeout <seconds>', 'longest a graceful shutdown waits (default 10)')
    .addHelpText('after', AFTER)
    .action(
      act(ctx, async (flags, opts) => {
        // Flags > BERTH_SERVE_* > berth.yaml > user file > defaults: the `serve` keys.
        const { loadConfig, parseSize } = await import('../config/index.js');
        const config = loadConfig({ cwd: ctx.cwd, env: ctx.env, flags: opts });
        const s = config.serve;
        const limits = {
          bodyBytes: parseSize(s.bodyLimit) ?? 1024 * 1024,
          maxBatch: s.maxBatch,
          ratePerSecond: s.rate,
          rateBurst: s.burst,
        };
        const shutdownTimeoutMs = s.shutdownTimeoutS * 1000;
        const { listTokens } = await import('../store/index.js');
        const store = await openCliStore(ctx);
        try {
          const tokens = (await listTokens(store.db)).length;
          if (tokens === 0) {
            throw new UsageError('no API token exists, so no client could use the API', {
              code: 'E_NO_TOKEN',
              hint: 'create one first: berth token create NAME',
            });
          }
          const { isLoopback, nextSignal, startServer } = await import('../server/serve.js');
          if (!isLoopback(s.bind)) {
            ctx.io.err(
              `berth serve: warning: listening on ${s.bind}, reachable from other machines; every client needs a token, and the traffic is not encrypted (use TLS in front)`,
            );
          }
          const { pino } = await import('pino');
          const logger = pino(
            {
              level: config.logLevel,
              base: { name: 'berth-serve' },
              redact: {
                paths: [
                  'req.headers.authorization',
                  'headers.authorization',
                  'authorization',
                  'secret',
                  'token.secret',
                ],
                censor: '[redacted]',
              },
            },
            pino.destination({ dest: 2, sync: true }),
          );
          const server = await startServer({
            store,
            logger,
            host: s.bind,
            port: s.port,
            limits,
            metricsPublic: s.publicMetrics,
            shutdownTimeoutMs,
          });
          const listening = {
            event: 'listening',
            url: server.url,
            host: server.host,
            port: server.port,
            store: store.location,
            tokens,
            pid: process.pid,
          };
          if (flags.json) ctx.io.out(JSON.stringify(listening));
          else {
            ctx.io.out(
              `berth serve: listening on ${server.url} (store ${store.location}, ${tokens} token(s))`,
            );
            ctx.io.out('berth serve: SIGTERM or Ctrl-C stops it');
          }
          const signal = await nextSignal();
          // Last resort: whatever hangs (a database that never answers), the process ends.
          setTimeout(() => {
            ctx.io.err('berth serve: shutdown did not finish in time; exiting');
            process.exit(1);
          }, shutdownTimeoutMs + 5000).unref();
          // A second signal while shutting down cuts the remaining connections.
          const again = () => server.forceClose();
          process.on('SIGINT', again);
          process.on('SIGTERM', again);
          try {
            if (!flags.json)
              ctx.io.err(
                `berth serve: ${signal}: finishing ${server.inFlight()} request(s) in flight`,
              );
            const report = await server.close();
            const stopped = { event: 'stopped', signal, ...report };
            if (flags.json) ctx.io.out(JSON.stringify(stopped));
            else
              ctx.io.out(
                `berth serve: stopped after ${report.ms} ms${report.forced ? ' (connections cut after the timeout)' : ''}`,
              );
          } finally {
            process.off('SIGINT', again);
            process.off('SIGTERM', again);
          }
          return 0;
        } finally {
          await store.close();
        }
      }),
    );
}
