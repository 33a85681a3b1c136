/**
 * Running the API: listen, and stop without losing anything.
 *
 * A 2xx from POST /v1/events is sent only after the batch is committed, so the shutdown's
 * job is to let requests in flight finish and to refuse the rest: it marks the server as
 * closing (every answer from then on carries `Connection: close`, so keep-alive clients let
 * go at once instead of after the 72 s keep-alive timeout), ends the live streams, stops
 * accepting connections and waits for the requests in flight — at most `shutdownTimeoutMs`,
 * after which the remaining connections are cut (their clients got no 2xx and resend).
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type BuildServerOptions, buildServer } from './app.js';

export interface StartServerOptions extends BuildServerOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 8787; 0 picks a free one). */
  port?: number;
  /** Longest a shutdown waits for requests in flight (default 10 s). */
  shutdownTimeoutMs?: number;
}

export interface ShutdownReport {
  ms: number;
  /** Requests that were in flight when the shutdown started. */
  inFlight: number;
  /** The timeout ran out and connections were cut. */
  forced: boolean;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  host: string;
  port: number;
  /** Requests being answered right now (live streams included). */
  inFlight(): number;
  /** Graceful shutdown (see above); safe to call twice. Does not close the store. */
  close(): Promise<ShutdownReport>;
  /** Cut every connection now (a second Ctrl-C). */
  forceClose(): void;
}

export const DEFAULT_PORT = 8787;

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1'
  );
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const app = buildServer(opts);
  let inFlight = 0;
  app.server.on('request', (_req, res) => {
    inFlight += 1;
    res.once('close', () => {
      inFlight -= 1;
    });
  });
  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? DEFAULT_PORT });
  const addr = app.server.address() as AddressInfo;
  const host = addr.address;
  const url = `http://${addr.family === 'IPv6' ? `[${host}]` : host}:${addr.port}`;
  const timeoutMs = opts.shutdownTimeoutMs ?? 10_000;
  let closing: Promise<ShutdownReport> | null = null;

  const forceClose = () => app.server.closeAllConnections();
  const close = (): Promise<ShutdownReport> => {
    closing ??= (async () => {
      const started = Date.now();
      const report: ShutdownReport = { ms: 0, inFlight, forced: false };
      app.berth.closing = true;
      app.berth.hub.closeAll();
      app.server.closeIdleConnections();
      const done = app.close();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
      });
      if ((await Promise.race([done.then(() => 'done' as const), late])) === 'late') {
        report.forced = true;
        forceClose();
        await done;
      }
      clearTimeout(timer);
      report.ms = Date.now() - started;
      return report;
    })();
    return closing;
  };
  return { app, url, host, port: addr.port, inFlight: () => inFlight, close, forceClose };
}

/** Resolve with the first of these signals to arrive (handlers are removed afterwards). */
export function nextSignal(
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => {
      for (const x of signals) process.off(x, on);
      resolve(s);
    };
    for (const s of signals) process.on(s, on);
  });
}
