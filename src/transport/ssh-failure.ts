/**
 * Tell "ssh itself failed" apart from "the remote command failed", and say what to do.
 * Pure: takes ssh's stderr, returns an UnreachableError with a hint or undefined.
 */
import { UnreachableError } from '../core/errors.js';

/** The server refused another session on a shared connection: the command never started. */
const SESSION_REFUSED =
  /Session open refused by peer|mux_client_request_session: session request failed/;

/**
 * ssh's words for a connection the server closed before authentication: the server is up
 * but shed the connection (sshd's MaxStartups: too many unauthenticated connections at
 * once). A timeout is not one of them: asking again would multiply the wait on a hung host.
 */
export function droppedBeforeAuth(stderr: string): boolean {
  return /(kex|ssh)_exchange_identification: .*(closed|reset)/i.test(stderr);
}

/** ssh's words say nothing was started on the host (shed or refused): safe to ask again. */
export function nothingStarted(stderr: string): boolean {
  return droppedBeforeAuth(stderr) || SESSION_REFUSED.test(stderr);
}

interface Rule {
  re: RegExp;
  reason: string;
  hint: (target: string, stderr: string) => string;
}

const RULES: Rule[] = [
  {
    re: /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/,
    reason: 'the host key has changed',
    hint: (t, stderr) => {
      const fp = /(SHA256:[A-Za-z0-9+/=]+)/.exec(stderr)?.[1];
      const remove = /(ssh-keygen -f .* -R .*)/.exec(stderr)?.[1]?.trim() ?? 'ssh-keygen -R <host>';
      return `the key ${t} presents${fp ? ` (${fp.replace(/\.$/, '')})` : ''} differs from the one in known_hosts. Ask the admins for the real fingerprint; only if it matches, remove the old entry with: ${remove}, then connect once with "ssh ${t}" to record the new key. Do not disable host-key checking`;
    },
  },
  {
    re: /Host key verification failed|No \S+ host key is known for|host key is not known/,
    reason: 'the host key could not be verified',
    hint: (t) =>
      `connect once with "ssh ${t}" and accept the key after comparing its fingerprint with the one your admins publish (or add it with "ssh-keyscan -p <port> <host> >> ~/.ssh/known_hosts" and compare "ssh-keygen -lf"). Do not disable host-key checking`,
  },
  {
    re: /Permission denied \(|Too many authentication failures|Authentication failed/,
    reason: 'authentication failed',
    hint: (t) =>
      `check that "ssh ${t}" logs in (key loaded in ssh-agent, IdentityFile in ~/.ssh/config, Kerberos ticket); berth opens its connection with your ssh configuration`,
  },
  {
    re: /Connection refused/,
    reason: 'the connection was refused',
    hint: () =>
      'nothing accepts ssh connections at that address and port: check the host name, the port and that the host is up',
  },
  {
    re: /Connection timed out|Operation timed out|timed out during banner exchange|Connection to \S+ timed out/,
    reason: 'the connection timed out',
    hint: () =>
      'the host did not answer within the connect timeout: check that it is up and reachable (VPN, ProxyJump)',
  },
  {
    re: /Could not resolve hostname|Name or service not known|nodename nor servname|Temporary failure in name resolution/,
    reason: 'the host name could not be resolved',
    hint: () => 'check the host name or the ssh alias (ssh -G <alias> shows what ssh resolves)',
  },
  {
    re: /No route to host|Network is unreachable|Host is down/,
    reason: 'the network path to the host is down',
    hint: () => 'check your network, VPN or ProxyJump host',
  },
  {
    re: SESSION_REFUSED,
    reason: 'the server refused another session on the shared connection',
    hint: () =>
      'too many commands at once over one connection (sshd MaxSessions, default 10): lower the concurrency',
  },
  {
    re: /kex_exchange_identification|Connection closed by|Connection reset by|banner exchange|Broken pipe|Control socket connect|master .* (dead|died)/i,
    reason: 'the connection was closed',
    hint: () =>
      'the server closed the connection before the command ran: try again; if it persists run "ssh -v" to see why',
  },
];

/** Classify ssh's stderr (after exit status 255); undefined when it is not an ssh failure. */
export function sshFailure(
  stderr: string,
  host: string,
  target: string,
): UnreachableError | undefined {
  const rule = RULES.find((r) => r.re.test(stderr));
  if (!rule) return undefined;
  return unreachable(host, target, rule.reason, rule.hint(target, stderr), stderr);
}

/** An UnreachableError for any ssh failure (falls back to a generic reason). */
export function sshFailureOrGeneric(
  stderr: string,
  host: string,
  target: string,
): UnreachableError {
  return (
    sshFailure(stderr, host, target) ??
    unreachable(host, target, 'ssh failed', `run "ssh -v ${target}" to see why`, stderr)
  );
}

function unreachable(host: string, target: string, reason: string, hint: string, stderr: string) {
  const detail = lastLines(stderr, 3);
  return new UnreachableError(
    `cannot reach host ${host} (${target}): ${reason}${detail ? `: ${detail}` : ''}`,
    { hint, details: { host, target, stderr: stderr.slice(-2000) } },
  );
}

function lastLines(text: string, n: number): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('@@@') && !/^@\s/.test(l))
    .slice(-n)
    .join(' / ');
}
