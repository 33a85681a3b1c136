/** Hiding secrets before configuration is printed. */
import { displayUrl } from '../monitor/sinks/redact.js';
import type { BerthConfig } from './schema.js';

const SECRET_PARAM = /([?&](?:password|passwd|pass|pwd|secret|token)=)[^&#]*/gi;

/**
 * `postgres://user:secret@host/db` → `postgres://user:***@host/db`; also masks
 * `?password=…`-style query parameters. Errs on the side of hiding too much.
 */
export function redactUrl(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)(.*)$/s.exec(url);
  if (!m) return url.replace(SECRET_PARAM, '$1***');
  const [, scheme = '', rest = ''] = m;
  // The user part ends at the last '@' before the query: a raw '@' or '/' in a password
  // must not leave part of it visible.
  const queryAt = rest.search(/[?#]/);
  const at = rest.lastIndexOf('@', queryAt === -1 ? rest.length : queryAt);
  let out = rest;
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon !== -1) out = `${userinfo.slice(0, colon)}:***${rest.slice(at)}`;
  }
  return scheme + out.replace(SECRET_PARAM, '$1***');
}

/**
 * A copy of the configuration that is safe to print: the password of `dbUrl` and
 * `api.url`, the API token, and every webhook's secret become `***`; a webhook URL shows
 * only its origin (`https://hooks.slack.com/…`: a Slack path or an ntfy topic is the secret).
 */
export function redactConfig<T extends BerthConfig>(config: T): T {
  const webhooks: BerthConfig['webhooks'] = {};
  for (const [name, w] of Object.entries(config.webhooks ?? {})) {
    webhooks[name] = {
      ...w,
      ...(w.url === undefined ? {} : { url: displayUrl(w.url) }),
      ...(w.secret === undefined ? {} : { secret: '***' }),
    };
  }
  return {
    ...config,
    dbUrl: redactUrl(config.dbUrl),
    api: { url: redactUrl(config.api.url), token: config.api.token ? '***' : '' },
    webhooks,
  };
}
