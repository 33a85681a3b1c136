/**
 * The built-in configuration: every key berth reads, its default, and what it means.
 * Files, env variables and flags only ever overlay these keys (see resolve.ts);
 * docs/configuration.md lists the same table.
 */
import { stateDir as defaultStateDir } from './paths.js';
import type { BerthConfig } from './schema.js';

type Env = Record<string, string | undefined>;

export function defaultConfig(env: Env = process.env): BerthConfig {
  // The env overlay sets BERTH_STATE_DIR itself, so the default is the XDG location.
  const { BERTH_STATE_DIR: _ignored, ...base } = env;
  // biome-ignore format: column-aligned so the defaults read as one table
  return {
    stateDir:              defaultStateDir(base), // database, logs, ssh control sockets: $XDG_STATE_HOME/berth
    dbUrl:                 '',                   // store URL (postgres://, mysql://); '' = SQLite file in stateDir
    defaultHost:           'local',              // host used when a command gets no --host
    logLevel:              'warn',               // silent | error | warn | info | debug | trace
    ssh: {
      connectTimeoutS:     10,                   // ssh ConnectTimeout for a new master connection
      controlPersist:      '10m',                // how long an idle ControlMaster connection stays open
    },
    poll: {
      minIntervalS:        2,                    // site minimum: never query the scheduler more often
      submitIntervalS:     2,                    // first interval right after a submit (fast)
      runningIntervalS:    15,                   // interval once every tracked job is running (slower)
      maxIntervalS:        60,                   // ceiling of the backoff
      backoffFactor:       2,                    // each quiet query multiplies the interval by this
      jitter:              0.1,                  // +/- fraction of random spread, so hosts don't poll in step
    },
    hosts: {
      local:               { scheduler: 'auto' }, // this machine; auto = slurm if sbatch is on PATH
    },
    api: {
      url:                 '',                   // the monitor's api sink posts events here (a berth serve); '' = off
      token:               '',                   // its bearer token (berth token create); a secret
    },
    serve: {
      bind:                '127.0.0.1',          // berth serve listens here: loopback only
      port:                8787,                 // 0 = any free port
      bodyLimit:           '1M',                 // largest request body
      maxBatch:            1000,                 // most events in one ingest request
      rate:                500,                  // requests per second per token, sustained; 0 = no limit
      burst:               1000,                 // requests a token may make at once
      publicMetrics:       false,                // serve /metrics without a token
      shutdownTimeoutS:    10,                   // longest a graceful shutdown waits for requests in flight
    },
    webhooks:              {},                   // the monitor's webhooks, by name (docs/webhooks.md)
  };
}
