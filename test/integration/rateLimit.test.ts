import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy, viaProxy } from '../../testkit/tcpProxy.js';
import { adminHeaders, createClient, TEST_ADMIN_TOKEN } from '../helpers/clients.js';
import { startRelayWithSimulator, startTestRelay, type TestRelay } from '../helpers/relay.js';
import { testRedisUrl } from '../helpers/services.js';

let a: TestRelay;
let stop: () => Promise<void>;
/** A second API replica: same database, same Redis and prefix. */
let b: TestRelay;

beforeAll(async () => {
  let simUrl: string;
  ({ simUrl, t: a, stop } = await startRelayWithSimulator({ ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN }));
  b = await startTestRelay(simUrl, { ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN }, { share: a });
});
afterAll(async () => {
  await b?.stop();
  await stop?.();
});

const list = (relay: TestRelay, headers: Record<string, string>) => relay.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=1', headers });

describe('per-client rate limits', () => {
  it('two replicas together allow exactly the limit, then 429 RATE_LIMITED with Retry-After and RateLimit-* headers', async () => {
    const client = await createClient(a, { rateLimitPerMinute: 6 });
    const input = { prompt: 'counted too', image_urls: ['https://example.com/a.jpg'] };
    const answers = [];
    for (let i = 0; i < 6; i++) {
      const relay = i % 2 === 0 ? a : b;
      // Every /v1 route counts into the one limit: reads and writes alike.
      answers.push(
        i === 3
          ? await relay.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: client.auth, payload: { input } })
          : await list(relay, client.auth),
      );
    }
    expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 200, 202, 200, 200]);
    expect(answers.map((r) => r.headers['ratelimit-remaining'])).toEqual(['5', '4', '3', '2', '1', '0']);
    expect(answers[0]!.headers['ratelimit-limit']).toBe('6');

    for (const relay of [a, b]) {
      const limited = await list(relay, client.auth);
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({
        statusCode: 429,
        code: 'RATE_LIMITED',
        error: 'Too Many Requests',
        message: expect.stringContaining('6 requests per minute'),
        details: { limitPerMinute: 6, retryAfterSeconds: expect.any(Number) },
      });
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.headers).toMatchObject({ 'ratelimit-limit': '6', 'ratelimit-remaining': '0', 'ratelimit-reset': String(retryAfter) });
    }

    // Other clients have their own count; a client without a limit and the bootstrap keys are not counted.
    const other = await createClient(a, { rateLimitPerMinute: 6 });
    expect((await list(b, other.auth)).statusCode).toBe(200);
    const unlimited = await createClient(a);
    for (let i = 0; i < 10; i++) {
      const res = await list(i % 2 ? a : b, unlimited.auth);
      expect(res.statusCode).toBe(200);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    }
    for (let i = 0; i < 10; i++) expect((await list(a, a.auth)).statusCode).toBe(200);
  });

  it('a limit raised by an operator holds on the next request', async () => {
    const client = await createClient(a, { rateLimitPerMinute: 1 });
    expect((await list(a, client.auth)).statusCode).toBe(200);
    expect((await list(b, client.auth)).statusCode).toBe(429);
    await a.relay.app!.inject({ method: 'PATCH', url: `/admin/clients/${client.id}`, headers: adminHeaders, payload: { rateLimitPerMinute: 3 } });
    expect((await list(b, client.auth)).statusCode).toBe(200);
  });

  it('an unauthenticated request is refused before it is counted', async () => {
    const client = await createClient(a, { rateLimitPerMinute: 1 });
    for (let i = 0; i < 3; i++) expect((await list(a, { authorization: 'Bearer prk_live_nope' })).statusCode).toBe(401);
    expect((await list(a, client.auth)).statusCode).toBe(200);
  });
});

describe('with Redis down', () => {
  let proxy: TcpProxy;
  let relay: TestRelay;
  beforeAll(async () => {
    const redisUrl = new URL(testRedisUrl());
    proxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    await proxy.start();
    relay = await startTestRelay(a.config.PIXELBYTE_API_URL, { ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN, REDIS_URL: viaProxy(testRedisUrl(), proxy) });
  });
  afterAll(async () => {
    await relay?.stop();
    await proxy?.stop();
  });

  it('fails open: requests go through uncounted, with a warning, and the limit holds again once Redis is back', async () => {
    const client = await createClient(relay, { rateLimitPerMinute: 2 });
    expect((await list(relay, client.auth)).statusCode).toBe(200);
    proxy.cut();
    const logFrom = relay.logs.lines.length;
    for (let i = 0; i < 4; i++) expect((await list(relay, client.auth)).statusCode).toBe(200);
    const warnings = relay.logs.lines
      .slice(logFrom)
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg?.startsWith('rate limit not enforced'));
    expect(warnings).toHaveLength(4);
    expect(warnings.every((w) => w.level === 40)).toBe(true);

    proxy.restore();
    await expect.poll(async () => (await list(relay, client.auth)).statusCode, { timeout: 10_000, interval: 200 }).toBe(429);
  });
});
