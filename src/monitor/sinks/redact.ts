/**
 * Keeping secrets out of messages. Webhook URLs are often secrets themselves (a Slack
 * webhook path, an ntfy topic), as are HMAC secrets and bearer tokens: a sink builds its
 * messages with `displayUrl()` and passes every error text through `redact()`.
 */

/** `https://hooks.slack.com/services/T0/B0/xyz?k=v` → `https://hooks.slack.com/…`. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const hidden = u.pathname.length > 1 || u.search !== '' || u.hash !== '';
    return `${u.protocol}//${u.host}${hidden ? '/…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * What to hide that derives from a URL: its path, query and password (and the whole URL when
 * it has any of them). A bare origin (`https://host:port`) is not a secret.
 */
export function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const out: string[] = [];
    if (u.pathname.length > 1) out.push(u.pathname, u.pathname.slice(1));
    if (u.search) out.push(u.search.slice(1));
    if (u.password) out.push(u.password, decodeURIComponent(u.password));
    return out.length > 0 ? [url, ...out] : [];
  } catch {
    return [url];
  }
}

/** Replace every occurrence of each secret (longest first) with `***`. */
export function redact(text: string, secrets: readonly (string | undefined | null)[]): string {
  const list = [...new Set(secrets.filter((s): s is string => !!s && s.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  let out = text;
  for (const s of list) out = out.split(s).join('***');
  return out;
}
