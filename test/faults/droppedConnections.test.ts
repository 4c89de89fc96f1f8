import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy, viaProxy } from '../../testkit/tcpProxy.js';
import { adminHeaders, createClient, TEST_ADMIN_TOKEN, type TestClient } from '../helpers/clients.js';
import { eventually, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';
import { isolatedDatabase } from '../helpers/services.js';

// Postgres's connections are dropped under a pool that holds them, busy or idle: a restarted server, a failover,
// a NAT that forgot the flows. Every answer must be the request's own or 503 DATABASE_UNAVAILABLE, never a 500.

let t: TestRelay;
let stop: () => Promise<void>;
let proxy: TcpProxy;
let dropDatabase: () => Promise<void>;
let client: TestClient;
let bootstrapEditId: string;
let clientEditId: string;

const input = { prompt: 'dropped connections', image_urls: ['https://example.com/a.jpg'] };

beforeAll(async () => {
  const db = await isolatedDatabase();
  dropDatabase = db.drop;
  const pgUrl = new URL(db.url);
  proxy = new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
  await proxy.start();
  // API only: no worker shares the pool, so the connections in flight are the requests'.
  ({ t, stop } = await startRelayWithSimulator({ ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN, DATABASE_URL: viaProxy(db.url, proxy), DATABASE_POOL_MAX: '10' }));
  client = await createClient(t, { name: 'pooled' });
  const post = (headers: Record<string, string>) => t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers, payload: { input } });
  bootstrapEditId = (await post(t.auth)).json().id;
  clientEditId = (await post(client.auth)).json().id;
});
afterAll(async () => {
  proxy?.restore();
  await stop?.();
  await proxy?.stop();
  await dropDatabase?.();
});

/** GET /v1/edits/{id} (bootstrap key: no lookup) and a registered client's requests (each starts with its key's lookup). */
const requests = (): InjectOptions[] => [
  { method: 'GET', url: `/v1/edits/${bootstrapEditId}`, headers: t.auth },
  { method: 'GET', url: `/v1/edits/${clientEditId}`, headers: client.auth },
  { method: 'GET', url: `/v1/edits/${clientEditId}?include=history`, headers: client.auth },
  { method: 'GET', url: '/v1/edits?limit=5', headers: client.auth },
  { method: 'GET', url: '/v1/usage', headers: client.auth },
  { method: 'POST', url: '/v1/edits', headers: client.auth, payload: { input } },
];
const batch = () => Promise.all(requests().map((r) => t.relay.app!.inject(r)));

function expectNoServerErrorButUnavailable(answers: LightMyRequestResponse[]) {
  for (const res of answers) {
    const what = `${res.statusCode} ${res.body.slice(0, 300)}`;
    expect([200, 202, 503], what).toContain(res.statusCode);
    if (res.statusCode === 503) expect(res.json(), what).toMatchObject({ statusCode: 503, code: 'DATABASE_UNAVAILABLE' });
  }
}

/** The pool has connections for a whole batch, all opened before the drop. */
async function warm() {
  for (let i = 0; i < 3; i++) {
    const answers = await batch();
    expect(
      answers.map((r) => r.statusCode),
      answers.map((r) => r.body.slice(0, 200)).join('\n'),
    ).toEqual([200, 200, 200, 200, 200, 202]);
  }
}

/** After the drop, new connections serve every request again. */
async function recovers() {
  await eventually(async () => ((await batch()).every((r) => r.statusCode < 300) ? true : undefined), 15_000, 'requests on new connections');
}

describe('pooled Postgres connections dropped', () => {
  it.each(['reset', 'close'] as const)('%s while every request has a query in flight: 503 DATABASE_UNAVAILABLE, never 500', async (how) => {
    await warm();
    const logFrom = t.logs.lines.length;
    proxy.stall();
    const answers = batch();
    // Each request's first statement has reached the proxy: it is running on a connection about to be cut.
    await eventually(() => (proxy.holding >= requests().length ? true : undefined), 5_000, 'the queries to be in flight');
    proxy.drop(how);
    const settled = await answers;
    expectNoServerErrorButUnavailable(settled);
    expect(settled.filter((r) => r.statusCode === 503).length, 'requests that met the drop').toBeGreaterThan(0);
    expect(t.logs.lines.slice(logFrom).filter((l) => l.includes('unhandled error'))).toEqual([]);
    await recovers();
  });

  it.each(['reset', 'close'] as const)('%s while the connections are idle, requests sent at once: 200 or 503, never 500', async (how) => {
    await warm();
    // Sent in the same turn as the drop: the pool has not yet seen its connections close and hands them out.
    proxy.drop(how);
    const answers = await batch();
    expectNoServerErrorButUnavailable(answers);
    await recovers();
  });

  it.each(['reset', 'close'] as const)('%s and new connections refused: 503 DATABASE_UNAVAILABLE until Postgres is back', async (how) => {
    await warm();
    proxy.stall();
    const inFlight = batch();
    await eventually(() => (proxy.holding >= requests().length ? true : undefined), 5_000, 'the queries to be in flight');
    proxy.drop(how, { refuseNew: true });
    const answers = [...(await inFlight), ...(await batch())];
    try {
      expectNoServerErrorButUnavailable(answers);
      expect(answers.every((r) => r.statusCode === 503)).toBe(true);
    } finally {
      proxy.restore();
    }
    await recovers();
    // The admin API reads the same pool.
    expect((await t.relay.app!.inject({ method: 'GET', url: `/admin/clients/${client.id}`, headers: adminHeaders })).statusCode).toBe(200);
  });
});
