/**
 * Which sinks a run or a flush uses. The `api` and `webhook` sinks come from the resolved
 * configuration (`api.url`/`api.token` and `webhooks.<name>.*`: berth.yaml, the user file,
 * or the BERTH_API_* / BERTH_WEBHOOK_* variables, which set `api.*` and
 * `webhooks.default.*`; docs/configuration.md). The store sink is on unless `--no-db`; its
 * database comes from `dbUrl` / the state dir.
 */
import { defaultConfig } from '../../config/defaults.js';
import { keyPath } from '../../config/keys.js';
import { envOverlay } from '../../config/overlay.js';
import type { BerthConfig, WebhookConfig } from '../../config/schema.js';
import { UsageError } from '../../core/errors.js';
import type { OpenStoreOptions } from '../../store/index.js';
import { EVENT_TYPES } from '../events.js';
import { HttpSink } from './http.js';
import type { Sink } from './sink.js';
import { StoreSink } from './store.js';
import { type WebhookOptions, WebhookSink } from './webhook.js';

type Env = Record<string, string | undefined>;

export interface SinkSettings {
  /** null: no store sink (`--no-db`). */
  store: OpenStoreOptions | null;
  api: { url: string; token: string } | null;
  webhooks: WebhookOptions[];
}

/** The sink name of a configured webhook: `webhook` for `default`, else `webhook-<name>`. */
export function webhookSinkName(name: string): string {
  return name === 'default' ? 'webhook' : `webhook-${name}`;
}

/**
 * API and webhook settings from a resolved configuration. Pure; a half-configured sink (a
 * token without URL is fine, a URL without token is not; a webhook without url) is a
 * UsageError naming the keys and where their values came from.
 */
export function sinkSettingsFromConfig(
  config: Pick<BerthConfig, 'api' | 'webhooks'>,
  sources: Record<string, string> = {},
): Omit<SinkSettings, 'store'> {
  const from = (key: string) => (sources[key] ? ` (from ${sources[key]})` : '');
  const { url, token } = config.api;
  if (url && !token) {
    throw new UsageError(`api.url is set${from('api.url')} but api.token is not`, {
      hint: 'create a token with `berth token create` on the API host; set api.token in the user config file (mode 600) or export BERTH_API_TOKEN',
    });
  }
  const webhooks: WebhookOptions[] = [];
  for (const name of Object.keys(config.webhooks).sort()) {
    webhooks.push(webhookOptions(name, config.webhooks[name]!, from));
  }
  return { api: url && token ? { url, token } : null, webhooks };
}

function webhookOptions(
  name: string,
  w: WebhookConfig,
  from: (key: string) => string,
): WebhookOptions {
  const key = (k: string) => keyPath(['webhooks', name, k]);
  if (!w.url) {
    const set = Object.keys(w).map(key);
    throw new UsageError(
      `webhook ${JSON.stringify(name)} has no url: ${set.map((k) => `${k}${from(k)}`).join(', ')} ${set.length === 1 ? 'is' : 'are'} set, ${key('url')} is not`,
      {
        hint:
          name === 'default'
            ? 'set BERTH_WEBHOOK_URL or webhooks.default.url, or unset the other BERTH_WEBHOOK_* variables'
            : `set ${key('url')} in the configuration file, or remove webhooks.${name}`,
      },
    );
  }
  return {
    name: webhookSinkName(name),
    url: w.url,
    kind: w.kind ?? 'json',
    ...(w.secret ? { secret: w.secret } : {}),
    ...(w.events === undefined ? {} : { types: w.events === 'all' ? [...EVENT_TYPES] : w.events }),
    jobs: w.jobs ?? null,
  };
}

/**
 * API and webhook settings from the environment alone (BERTH_API_*, BERTH_WEBHOOK_*), for
 * when the configuration files cannot be read. Pure; throws UsageError on bad values.
 */
export function sinkSettingsFromEnv(env: Env): Omit<SinkSettings, 'store'> {
  const own = Object.entries(env).filter(([k]) => /^BERTH_(API|WEBHOOK)_/.test(k));
  const overlay = envOverlay(Object.fromEntries(own), (p) => p);
  const layer = overlay.layer as Partial<Pick<BerthConfig, 'api' | 'webhooks'>>;
  const base = defaultConfig(env);
  return sinkSettingsFromConfig(
    { api: { ...base.api, ...layer.api }, webhooks: layer.webhooks ?? {} },
    overlay.sources,
  );
}

/** The sinks for these settings (store first). */
export function createSinks(s: SinkSettings): Sink[] {
  const sinks: Sink[] = [];
  if (s.store) sinks.push(new StoreSink(s.store));
  if (s.api) sinks.push(new HttpSink(s.api));
  s.webhooks.forEach((w, i) => {
    sinks.push(
      new WebhookSink({ ...w, name: w.name ?? (i === 0 ? 'webhook' : `webhook-${i + 1}`) }),
    );
  });
  return sinks;
}
