// What a client does when its websocket closes, and how long it waits before the next try.
// Pure functions, so the policy is tested without a socket or a clock (e2e/browser/unit/).

/** Close codes the server sends (chat-protocol `close_code`, contract "Close codes added"). */
export const CLOSE = Object.freeze({
  NORMAL: 1000,
  IDLE: 1001,
  TOO_BIG: 1009,
  SERVICE_RESTART: 1012,
  SIGNED_OUT: 4001,
  SLOW_CONSUMER: 4008,
  MISBEHAVING: 4029,
});

/**
 * The action for a close code:
 * - 'signed_out': the token was revoked; reconnecting with it can only fail again.
 * - 'resume': nothing was lost on the server (it cut a slow reader); reconnect at once and
 *   subscribe with after_seq.
 * - 'restart': the replica is going away; every client of it reconnects, so spread out.
 * - 'misbehaving': this client provoked too many errors; hammering would only repeat it.
 * - 'retry': anything else (network drop, 1006): ordinary backoff.
 */
export function closeAction(code) {
  switch (code) {
    case CLOSE.SIGNED_OUT:
      return 'signed_out';
    case CLOSE.SLOW_CONSUMER:
    case CLOSE.IDLE:
      return 'resume';
    case CLOSE.SERVICE_RESTART:
      return 'restart';
    case CLOSE.MISBEHAVING:
      return 'misbehaving';
    default:
      return 'retry';
  }
}

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
/** After 4029: at least this long, doubling on each repeat, at most MISBEHAVING_MAX_MS. */
export const MISBEHAVING_BASE_MS = 30_000;
export const MISBEHAVING_MAX_MS = 5 * 60_000;

/**
 * "Equal jitter" backoff: a ceiling that doubles per attempt, and a delay between half the
 * ceiling and all of it, so retries spread out without ever coming back at once.
 * `attempt` counts from 1.
 */
export function jitteredBackoff(attempt, base, max, random = Math.random) {
  const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(attempt, 1) - 1, 20));
  return ceiling / 2 + random() * (ceiling / 2);
}

/**
 * Milliseconds to wait before reconnecting after `action`. `attempt` is how many connections
 * in a row have ended badly (1 for the first). A 'resume' is immediate only the first time:
 * a server that keeps cutting this client off right after it connects gets ordinary backoff
 * instead of a tight loop.
 */
export function reconnectDelay(action, attempt, random = Math.random) {
  switch (action) {
    case 'resume':
      return attempt <= 1 ? 0 : jitteredBackoff(attempt - 1, BACKOFF_BASE_MS, BACKOFF_MAX_MS, random);
    case 'restart':
      // Never below a second: a whole replica's clients come back through the load balancer.
      return jitteredBackoff(attempt + 1, BACKOFF_BASE_MS, BACKOFF_MAX_MS, random);
    case 'misbehaving':
      // One step up, so even the first wait is at least MISBEHAVING_BASE_MS.
      return jitteredBackoff(attempt + 1, MISBEHAVING_BASE_MS, MISBEHAVING_MAX_MS, random);
    case 'signed_out':
      return Infinity;
    default:
      return jitteredBackoff(attempt, BACKOFF_BASE_MS, BACKOFF_MAX_MS, random);
  }
}
