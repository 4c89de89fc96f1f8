import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '../../src/engine/clients/keys.js';
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
  const env = { ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN, AUTH_FAILURE_LIMIT: '5', AUTH_FAILURE_WINDOW_MS: '60000' };
  ({ simUrl, t: a, stop } = await startRelayWithSimulator(env));
  b = await startTestRelay(simUrl, env, { share: a });
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

describe('failed authentication, per address', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(() => redis?.quit());

  /** A key of the shape we issue that no client holds: each one costs a lookup unless the limiter stops it. */
  const wrongKey = () => ({ authorization: `Bearer ${issueApiKey().apiKey}` });
  const from = (relay: TestRelay, remoteAddress: string, headers: Record<string, string>) =>
    relay.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=1', headers, remoteAddress });
  const counted = (address: string) => redis.get(`${a.config.QUEUE_PREFIX}:auth-failures:${address}`);

  it('five wrong keys across both replicas, then 429 TOO_MANY_AUTH_FAILURES before any lookup, even for a right key; other addresses unaffected', async () => {
    const client = await createClient(a);
    const attacker = '198.51.100.7';
    for (let i = 0; i < 5; i++) expect((await from(i % 2 ? b : a, attacker, wrongKey())).statusCode).toBe(401);
    expect(await counted(attacker)).toBe('5');

    for (const relay of [a, b]) {
      const refused = await from(relay, attacker, wrongKey());
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({
        statusCode: 429,
        code: 'TOO_MANY_AUTH_FAILURES',
        message: expect.stringContaining('invalid API keys'),
        details: { retryAfterSeconds: expect.any(Number) },
      });
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.json().details.retryAfterSeconds).toBe(retryAfter);
    }
    // Answered before the key is looked up: a right one is refused as well, and nothing more is counted.
    expect((await from(b, attacker, client.auth)).statusCode).toBe(429);
    expect(await counted(attacker)).toBe('5');
    const ttl = await redis.pttl(`${a.config.QUEUE_PREFIX}:auth-failures:${attacker}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    // Another address, the same right key: unaffected. A bootstrap key costs no lookup and is not held back.
    expect((await from(a, '203.0.113.9', client.auth)).statusCode).toBe(200);
    expect((await from(b, '203.0.113.9', wrongKey())).statusCode).toBe(401);
    expect((await from(a, attacker, a.auth)).statusCode).toBe(200);
    // A request without a key guesses nothing and costs nothing: it is not counted.
    for (let i = 0; i < 6; i++) expect((await from(a, '203.0.113.10', {})).statusCode).toBe(401);
    expect(await counted('203.0.113.10')).toBeNull();
  });

  it('counts the connection’s address, whatever X-Forwarded-For says, unless TRUST_PROXY names the proxy', async () => {
    const spoofed = (i: number) => ({ ...wrongKey(), 'x-forwarded-for': `192.0.2.${i}` });
    for (let i = 0; i < 5; i++) expect((await from(a, '198.51.100.20', spoofed(i))).statusCode).toBe(401);
    expect((await from(b, '198.51.100.20', spoofed(99))).statusCode).toBe(429);

    // Behind a balancer it trusts, the relay counts the client the balancer names.
    const behind = await startTestRelay(a.config.PIXELBYTE_API_URL, { ROLE: 'api', AUTH_FAILURE_LIMIT: '5', TRUST_PROXY: '10.0.0.0/8' }, { share: a });
    try {
      const viaBalancer = (client: string) => ({ ...wrongKey(), 'x-forwarded-for': `${client}, 10.1.2.3` });
      for (let i = 0; i < 5; i++) expect((await from(behind, '10.0.0.5', viaBalancer('198.51.100.30'))).statusCode).toBe(401);
      expect((await from(behind, '10.0.0.6', viaBalancer('198.51.100.30'))).statusCode).toBe(429);
      expect((await from(behind, '10.0.0.5', viaBalancer('198.51.100.31'))).statusCode).toBe(401);
      expect(await counted('10.0.0.5')).toBeNull();
    } finally {
      await behind.stop();
    }
  });

  it('counts an IPv6 /64 as one address, and an IPv4-mapped address as its IPv4', async () => {
    for (let i = 1; i <= 5; i++) expect((await from(a, `2001:db8:7:1::${i.toString(16)}`, wrongKey())).statusCode).toBe(401);
    expect((await from(b, '2001:db8:7:1:ffff:ffff:ffff:fffe', wrongKey())).statusCode).toBe(429);
    expect((await from(b, '2001:db8:7:2::1', wrongKey())).statusCode).toBe(401);
    expect(await counted('2001:db8:7:1::/64')).toBe('5');

    for (let i = 0; i < 5; i++) expect((await from(a, '::ffff:192.0.2.44', wrongKey())).statusCode).toBe(401);
    expect((await from(b, '192.0.2.44', wrongKey())).statusCode).toBe(429);
  });
});

describe('with Redis down', () => {
  let proxy: TcpProxy;
  let relay: TestRelay;
  beforeAll(async () => {
    const redisUrl = new URL(testRedisUrl());
    proxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    await proxy.start();
    relay = await startTestRelay(a.config.PIXELBYTE_API_URL, {
      ROLE: 'api',
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      REDIS_URL: viaProxy(testRedisUrl(), proxy),
      AUTH_FAILURE_LIMIT: '2',
    });
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

  it('fails open for failed keys too: each is looked up and refused 401, with a warning, and the limit holds again once Redis is back', async () => {
    const client = await createClient(relay);
    const wrong = { authorization: `Bearer ${issueApiKey().apiKey}` };
    const fromHere = (headers: Record<string, string>) =>
      relay.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=1', headers, remoteAddress: '198.51.100.99' });
    proxy.cut();
    const logFrom = relay.logs.lines.length;
    try {
      for (let i = 0; i < 4; i++) expect((await fromHere(wrong)).statusCode).toBe(401);
      expect((await fromHere(client.auth)).statusCode).toBe(200);
    } finally {
      proxy.restore();
    }
    const warnings = relay.logs.lines
      .slice(logFrom)
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg?.startsWith('failed-authentication limit not enforced'));
    expect(warnings.length).toBeGreaterThanOrEqual(4);
    expect(warnings.every((w) => w.level === 40)).toBe(true);

    await expect.poll(async () => (await fromHere(wrong)).statusCode, { timeout: 10_000, interval: 200 }).toBe(429);
  });
});
