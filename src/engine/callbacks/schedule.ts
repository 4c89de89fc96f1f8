const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Wait after failed attempt n (index n-1) of a series; after the last, the delivery fails. About three days in all. */
export const RETRY_SCHEDULE_MS = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 14 * HOUR, 20 * HOUR, 24 * HOUR] as const;
export const MAX_ATTEMPTS_PER_SERIES = RETRY_SCHEDULE_MS.length + 1;

/** A receiver can ask for a pause, but not for one longer than our longest step. */
export const MAX_RETRY_AFTER_MS = 24 * HOUR;

/**
 * How long to wait after failed attempt `attempt` (1-based) of a series, or null when it was the last.
 * A Retry-After the receiver sent (429/503) is honoured as a minimum: it can slow retries down, never
 * speed them up past the schedule, so a receiver that keeps answering 429 cannot burn the attempts in seconds.
 */
export function retryDelayMs(attempt: number, scale: number, retryAfterMs?: number): number | null {
  const step = RETRY_SCHEDULE_MS[attempt - 1];
  if (step === undefined) return null;
  const scheduled = Math.ceil(step * scale);
  return retryAfterMs === undefined ? scheduled : Math.max(scheduled, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

/** Retry-After as delay-seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: Date = new Date()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * SECOND;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}
