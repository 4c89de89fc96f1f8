import { describe, expect, it } from 'vitest';
import { judge } from '../../src/engine/callbacks/deliverCallback.js';
import { MAX_ATTEMPTS_PER_SERIES, parseRetryAfter, retryDelayMs } from '../../src/engine/callbacks/schedule.js';

const now = new Date('2026-01-01T00:00:00Z');

describe('the callback retry schedule', () => {
  it('waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, then gives up', () => {
    const minutes = Array.from({ length: MAX_ATTEMPTS_PER_SERIES }, (_, i) => retryDelayMs(i + 1, 1));
    expect(minutes).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000, null]);
  });

  it('scales for tests', () => {
    expect(retryDelayMs(2, 0.001)).toBe(300);
  });

  it('honours Retry-After as a minimum, capped at a day', () => {
    expect(retryDelayMs(1, 1, 60_000)).toBe(60_000);
    expect(retryDelayMs(3, 1, 1_000)).toBe(1_800_000);
    expect(retryDelayMs(1, 1, 30 * 86_400_000)).toBe(86_400_000);
    expect(retryDelayMs(10, 1, 1_000)).toBeNull();
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('judging an attempt', () => {
  it('delivers on 2xx, stops on 410, retries the rest until the schedule runs out', () => {
    expect(judge({ statusCode: 204, durationMs: 1 }, 1, 1, now)).toEqual({ status: 'delivered' });
    expect(judge({ statusCode: 410, bodyExcerpt: 'gone', durationMs: 1 }, 1, 1, now)).toEqual({ status: 'failed', lastError: 'HTTP 410: gone' });
    expect(judge({ statusCode: 500, bodyExcerpt: 'oops\n  trace', durationMs: 1 }, 2, 1, now)).toEqual({
      status: 'pending',
      lastError: 'HTTP 500: oops trace',
      nextAttemptAt: new Date(now.getTime() + 300_000),
    });
    expect(judge({ error: 'timed out after 15000 ms', durationMs: 15_000 }, 10, 1, now)).toEqual({ status: 'failed', lastError: 'timed out after 15000 ms' });
  });

  it('treats a redirect as a failure and says so', () => {
    expect(judge({ statusCode: 302, headers: { location: 'https://elsewhere.example/' }, durationMs: 1 }, 1, 1, now)).toMatchObject({
      status: 'pending',
      lastError: 'HTTP 302: redirects are not followed (Location: https://elsewhere.example/)',
    });
  });

  it('waits as long as a 429 or 503 asks', () => {
    const verdict = judge({ statusCode: 429, headers: { 'retry-after': '90' }, durationMs: 1 }, 1, 1, now);
    expect(verdict).toMatchObject({ status: 'pending', nextAttemptAt: new Date(now.getTime() + 90_000) });
    const ignored = judge({ statusCode: 500, headers: { 'retry-after': '90' }, durationMs: 1 }, 1, 1, now);
    expect(ignored).toMatchObject({ nextAttemptAt: new Date(now.getTime() + 5_000) });
  });
});
