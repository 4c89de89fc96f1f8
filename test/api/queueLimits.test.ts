import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, createClient, TEST_ADMIN_TOKEN, type TestClient } from '../helpers/clients.js';
import { type RelayWithSimulator, startRelayWithSimulator } from '../helpers/relay.js';

// An API process alone (no workers): what is posted stays queued, so the queue's limits and order can be read.
let env: RelayWithSimulator;

beforeAll(async () => {
  env = await startRelayWithSimulator({ ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN, MAX_QUEUED_EDITS: '12' });
});
afterAll(async () => {
  await env?.stop();
});

const input = { prompt: 'queue limits', image_urls: ['https://example.com/a.jpg'] };
const post = (client: { auth: { authorization: string } }, extra: Record<string, unknown> = {}) =>
  env.t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: client.auth, payload: { input, ...extra } });
async function createClientWith(body: Record<string, unknown>): Promise<TestClient> {
  const res = await env.t.relay.app!.inject({ method: 'POST', url: '/admin/clients', headers: adminHeaders, payload: body });
  expect(res.statusCode, res.body).toBe(201);
  const { id, apiKey } = res.json();
  return { id, apiKey, auth: { authorization: `Bearer ${apiKey}` } };
}

describe('queue limits', () => {
  it("past a client's maxQueued: 429 QUEUE_FULL with Retry-After, and nothing stored", async () => {
    const client = await createClient(env.t, { name: 'limited' });
    const patched = await env.t.relay.app!.inject({ method: 'PATCH', url: `/admin/clients/${client.id}`, headers: adminHeaders, payload: { maxQueued: 3 } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ maxQueued: 3, weight: 1, maxConcurrency: null });
    for (let i = 0; i < 3; i++) expect((await post(client)).statusCode).toBe(202);

    const refused = await post(client, { metadata: { n: 4 } });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json()).toMatchObject({ code: 'QUEUE_FULL', details: { scope: 'client', limit: 3 } });
    expect(await env.t.db.edit.count({ where: { clientId: client.id } })).toBe(3);

    // One leaves the queue (cancelled here): there is room for one more.
    const [first] = await env.t.db.edit.findMany({ where: { clientId: client.id }, take: 1 });
    expect((await env.t.relay.app!.inject({ method: 'POST', url: `/v1/edits/${first!.id}/cancel`, headers: client.auth })).statusCode).toBe(200);
    expect((await post(client)).statusCode).toBe(202);
    expect((await post(client)).statusCode).toBe(429);
  });

  it('concurrent posts never squeeze past maxQueued', async () => {
    const client = await createClientWith({ name: 'racing', maxQueued: 2 });
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(client)));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([202, 202, 429, 429, 429, 429]);
    expect(await env.t.db.edit.count({ where: { clientId: client.id } })).toBe(2);
  });

  it('past MAX_QUEUED_EDITS for the whole relay: 429 QUEUE_FULL, scope server', async () => {
    const client = await createClient(env.t, { name: 'unlimited' });
    let answer = await post(client);
    while (answer.statusCode === 202) answer = await post(client);
    expect(answer.statusCode).toBe(429);
    expect(answer.json()).toMatchObject({ code: 'QUEUE_FULL', details: { scope: 'server', limit: 12 } });
    expect(await env.t.db.edit.count({ where: { status: 'queued' } })).toBe(12);
  });
});

describe("a client's own queue", () => {
  it('orders by priority then age, shows queuePosition, and GET /v1/usage counts it', async () => {
    // Its own relay: the one above is full.
    const own = await startRelayWithSimulator({ ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    try {
      const client = await createClient(own.t, { name: 'ordered' });
      const postOwn = async (extra: Record<string, unknown> = {}) => {
        const res = await own.t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: client.auth, payload: { input, ...extra } });
        expect(res.statusCode, res.body).toBe(202);
        return res.json();
      };
      const normal = await postOwn();
      const low = await postOwn({ priority: 'low', expiresInSeconds: 3600 });
      const high = await postOwn({ priority: 'high', deadline: '2099-01-01T00:00:00Z' }).catch(() => null);
      expect(high).toBeNull(); // a deadline more than a week ahead is refused
      const urgent = await postOwn({ priority: 'high' });
      expect(low).toMatchObject({ priority: 'low', deadlineMissed: false, deadline: expect.any(String) });
      const read = (id: string) => own.t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: client.auth }).then((r) => r.json());
      expect([(await read(urgent.id)).queuePosition, (await read(normal.id)).queuePosition, (await read(low.id)).queuePosition]).toEqual([1, 2, 3]);

      const usage = (await own.t.relay.app!.inject({ method: 'GET', url: '/v1/usage', headers: client.auth })).json();
      expect(usage.queue).toEqual({ queued: 3, inFlight: 0 });
      const metrics = (await own.t.relay.app!.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toContain(`pixelrelay_client_edits{client="${client.id}",state="queued"} 3`);
      expect(metrics).toContain(`pixelrelay_client_edits{client="${client.id}",state="in_flight"} 0`);
    } finally {
      await own.stop();
    }
  });

  it('refuses a bad priority or deadline with 400 INVALID_INPUT naming the field', async () => {
    const client = await createClient(env.t, { name: 'careless' });
    const cases: [Record<string, unknown>, string][] = [
      [{ priority: 'urgent' }, 'priority'],
      [{ deadline: 'tomorrow' }, 'deadline'],
      [{ deadline: '2020-01-01T00:00:00Z' }, 'deadline'],
      [{ expiresInSeconds: 0 }, 'expiresInSeconds'],
      [{ expiresInSeconds: 60, deadline: new Date(Date.now() + 60_000).toISOString() }, 'expiresInSeconds'],
    ];
    for (const [extra, path] of cases) {
      const res = await post(client, extra);
      expect(res.statusCode, JSON.stringify(extra)).toBe(400);
      expect(res.json().code).toBe('INVALID_INPUT');
      expect(res.json().details.map((d: { path: string }) => d.path)).toContain(path);
    }
  });
});

describe('the admin API', () => {
  it('sets and clears weight, maxConcurrency and maxQueued, refusing values out of range', async () => {
    const created = await env.t.relay.app!.inject({
      method: 'POST',
      url: '/admin/clients',
      headers: adminHeaders,
      payload: { name: 'weighted', weight: 2, maxConcurrency: 4, maxQueued: 100 },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ weight: 2, maxConcurrency: 4, maxQueued: 100 });
    const id = created.json().id;
    const cleared = await env.t.relay.app!.inject({
      method: 'PATCH',
      url: `/admin/clients/${id}`,
      headers: adminHeaders,
      payload: { maxConcurrency: null, maxQueued: null },
    });
    expect(cleared.json()).toMatchObject({ weight: 2, maxConcurrency: null, maxQueued: null });
    for (const payload of [{ weight: 0 }, { weight: 1.5 }, { maxConcurrency: 0 }, { maxQueued: -1 }, { weight: null }]) {
      const res = await env.t.relay.app!.inject({ method: 'PATCH', url: `/admin/clients/${id}`, headers: adminHeaders, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().code).toBe('INVALID_INPUT');
    }
  });
});
