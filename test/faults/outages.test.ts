import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { TcpProxy, viaProxy } from '../../testkit/tcpProxy.js';
import { eventually, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';
import { isolatedDatabase, testRedisUrl } from '../helpers/services.js';

// Postgres and Redis are reached through proxies the tests cut: real outages for the relay, while the
// shared services keep serving every other test.
let sim: Simulator;
let t: TestRelay;
let stop: () => Promise<void>;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let drop: () => Promise<void>;

beforeAll(async () => {
  const db = await isolatedDatabase();
  drop = db.drop;
  const pgUrl = new URL(db.url);
  pgProxy = new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
  const redisUrl = new URL(testRedisUrl());
  redisProxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
  await Promise.all([pgProxy.start(), redisProxy.start()]);
  ({ sim, t, stop } = await startRelayWithSimulator(
    {
      DATABASE_URL: viaProxy(db.url, pgProxy),
      REDIS_URL: viaProxy(testRedisUrl(), redisProxy),
      SWEEP_INTERVAL_MS: '300',
      RECONCILE_GRACE_MS: '500',
      RECONCILE_MAX_INTERVAL_MS: '1000',
    },
    { pendingMs: 50, processingMs: 100, webhookRetryDelaysMs: [200, 400, 800, 1600] },
  ));
});
afterAll(async () => {
  pgProxy?.restore();
  redisProxy?.restore();
  await stop?.();
  await Promise.all([pgProxy?.stop(), redisProxy?.stop()]);
  await drop?.();
});

const input = { prompt: 'outage', image_urls: ['https://example.com/a.jpg'] };
const post = () => t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { input } });
const statusOf = async (id: string) => (await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: t.auth })).json().status;

describe('outages', () => {
  it('accepts edits while Redis is down and completes every one after it returns', async () => {
    redisProxy.cut();
    const ids: string[] = [];
    try {
      const ready = await t.relay.app!.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().details).toEqual({ postgres: 'ok', redis: 'unavailable' });
      for (let i = 0; i < 5; i++) {
        const res = await post();
        expect(res.statusCode).toBe(202);
        ids.push(res.json().id);
      }
      expect(await Promise.all(ids.map(statusOf))).toEqual(Array(5).fill('queued'));
    } finally {
      redisProxy.restore();
    }
    for (const id of ids) {
      await eventually(async () => ((await statusOf(id)) === 'completed' ? true : undefined), 20_000, `edit ${id} after Redis returned`);
    }
    const submitted = sim.calls
      .filter((c) => c.path === '/v1/jobs/submit')
      .map((c) =>
        String((c.body as { webhookUrl: string }).webhookUrl)
          .split('/')
          .at(-1),
      );
    for (const id of ids) expect(submitted.filter((s) => s === id)).toHaveLength(1);
  });

  it('answers 503 DATABASE_UNAVAILABLE while Postgres is down, writes nothing, and drains once it is back', async () => {
    const inFlight = (await post()).json().id; // accepted just before the outage
    pgProxy.cut();
    try {
      const res = await post();
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ statusCode: 503, code: 'DATABASE_UNAVAILABLE' });
      expect(res.json().message).not.toMatch(/ECONN|prisma|pg/i);
      const ready = await t.relay.app!.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().details.postgres).toBe('unavailable');
      await new Promise((r) => setTimeout(r, 1_000)); // webhooks and polls fail meanwhile
    } finally {
      pgProxy.restore();
    }
    const countDuring = await t.db.edit.count({ where: { clientId: t.clientId } });
    const after = await eventually(
      async () => {
        const status = await statusOf(inFlight);
        return status === 'completed' ? status : undefined;
      },
      30_000,
      'the in-flight edit to complete after Postgres returned',
    );
    expect(after).toBe('completed');
    // The rejected POST left no row: only the edits accepted before (5 + 1).
    expect(countDuring).toBe(6);
    const retry = await post();
    expect(retry.statusCode).toBe(202);
  });

  it('answers 202 without waiting for a Redis that stopped answering, and the edit completes once it answers', async () => {
    const gaveUp = (id: string) =>
      t.logs.lines.some((line) => {
        const entry = JSON.parse(line);
        return entry.editId === id && String(entry.msg).startsWith('enqueue failed');
      });
    redisProxy.stall();
    let id: string;
    try {
      const res = await post();
      expect(res.statusCode).toBe(202);
      id = res.json().id;
      // The edit was durable when the answer left; its enqueue was still waiting for Redis, and gives up after its deadline.
      expect(gaveUp(id)).toBe(false);
      await eventually(() => (gaveUp(id) ? true : undefined), 10_000, 'the enqueue to give up');
    } finally {
      redisProxy.resume();
    }
    await eventually(async () => ((await statusOf(id)) === 'completed' ? true : undefined), 20_000, 'the edit to complete');
  });
});
