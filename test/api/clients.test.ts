import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, createClient, TEST_ADMIN_TOKEN } from '../helpers/clients.js';
import { startRelayWithSimulator, startTestRelay, type TestRelay } from '../helpers/relay.js';

let t: TestRelay;
let stop: () => Promise<void>;
/** Another API replica of the same deployment: same database, same Redis. */
let replica: TestRelay;

beforeAll(async () => {
  let simUrl: string;
  // API only: edits stay queued, so they can be cancelled and counted without a worker moving them.
  ({ simUrl, t, stop } = await startRelayWithSimulator({ ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN }));
  replica = await startTestRelay(simUrl, { ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN }, { share: t });
});
afterAll(async () => {
  await replica?.stop();
  await stop?.();
});

const input = { prompt: 'clients of their own', image_urls: ['https://example.com/a.jpg'] };
const postEdit = (relay: TestRelay, headers: Record<string, string>, extra: Record<string, string> = {}) =>
  relay.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: { ...headers, ...extra }, payload: { input } });

describe('the admin API', () => {
  it('refuses a request without the admin token, or with an API key as one', async () => {
    const client = await createClient(t);
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-wrong-token-wrong-token' },
      client.auth,
      { authorization: `Basic ${Buffer.from(`x:${TEST_ADMIN_TOKEN}`).toString('base64')}` },
    ]) {
      const res = await t.relay.app!.inject({ method: 'GET', url: '/admin/clients', headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    }
  });

  it('does not exist when ADMIN_TOKEN is unset', async () => {
    const bare = await startTestRelay(t.config.PIXELBYTE_API_URL, { ROLE: 'api' });
    try {
      for (const [method, url] of [
        ['GET', '/admin/clients'],
        ['POST', '/admin/clients'],
        ['GET', '/admin/queues'],
      ] as const) {
        const res = await bare.relay.app!.inject({ method, url, headers: adminHeaders, payload: method === 'POST' ? { name: 'x' } : undefined });
        expect(res.statusCode, url).toBe(404);
        expect(res.json().code).toBe('ROUTE_NOT_FOUND');
      }
    } finally {
      await bare.stop();
    }
  });

  it('creates a client with a key shown once, lists it, shows today’s spend and changes its limits', async () => {
    const created = await t.relay.app!.inject({
      method: 'POST',
      url: '/admin/clients',
      headers: adminHeaders,
      payload: { name: '  thumbnails service  ', dailyBudgetMicroCents: 5_000_000, rateLimitPerMinute: 600 },
    });
    expect(created.statusCode).toBe(201);
    const client = created.json();
    expect(client).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'thumbnails service',
      dailyBudgetMicroCents: 5_000_000,
      rateLimitPerMinute: 600,
      weight: 1,
      maxConcurrency: null,
      maxQueued: null,
      createdAt: expect.any(String),
      apiKey: expect.stringMatching(/^prk_live_[0-9a-f]{10}_[A-Za-z0-9_-]{43}$/),
    });

    const edit = await postEdit(t, { authorization: `Bearer ${client.apiKey}` });
    expect(edit.statusCode).toBe(202);
    expect((await t.db.edit.findUniqueOrThrow({ where: { id: edit.json().id } })).clientId).toBe(client.id);

    const listed = await t.relay.app!.inject({ method: 'GET', url: '/admin/clients', headers: adminHeaders });
    expect(listed.statusCode).toBe(200);
    const row = listed.json().clients.find((c: { id: string }) => c.id === client.id);
    expect(row).toMatchObject({ name: 'thumbnails service', keys: [{ prefix: client.apiKey.slice(0, 19), revokedAt: null }] });
    expect(listed.body).not.toContain(client.apiKey.slice(20));

    const detail = await t.relay.app!.inject({ method: 'GET', url: `/admin/clients/${client.id}`, headers: adminHeaders });
    expect(detail.statusCode).toBe(200);
    const estimate = edit.json().estimatedCostMicroCents;
    expect(detail.json().today).toEqual({ day: new Date().toISOString().slice(0, 10), spentMicroCents: estimate, remainingMicroCents: 5_000_000 - estimate });

    const patched = await t.relay.app!.inject({
      method: 'PATCH',
      url: `/admin/clients/${client.id}`,
      headers: adminHeaders,
      payload: { name: 'thumbs', dailyBudgetMicroCents: null, rateLimitPerMinute: 10 },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ id: client.id, name: 'thumbs', dailyBudgetMicroCents: null, rateLimitPerMinute: 10 });
    const after = await t.relay.app!.inject({ method: 'GET', url: `/admin/clients/${client.id}`, headers: adminHeaders });
    expect(after.json().today.remainingMicroCents).toBeNull();
  });

  it('answers 404 for a client or key that does not exist', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const [method, url, code] of [
      ['GET', `/admin/clients/${missing}`, 'CLIENT_NOT_FOUND'],
      ['GET', '/admin/clients/not-a-uuid', 'CLIENT_NOT_FOUND'],
      ['PATCH', `/admin/clients/${missing}`, 'CLIENT_NOT_FOUND'],
      ['POST', `/admin/clients/${missing}/keys`, 'CLIENT_NOT_FOUND'],
      ['POST', '/admin/clients/%00/keys', 'CLIENT_NOT_FOUND'],
      ['DELETE', `/admin/keys/${missing}`, 'API_KEY_NOT_FOUND'],
      ['DELETE', '/admin/keys/prk_live_0123456789', 'API_KEY_NOT_FOUND'],
    ] as const) {
      const res = await t.relay.app!.inject({ method, url, headers: adminHeaders, payload: method === 'PATCH' ? { name: 'x' } : undefined });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().code).toBe(code);
    }
  });
});

describe('API keys', () => {
  it('a new key works beside the first; a revoked key is refused at once by another replica', async () => {
    const client = await createClient(t);
    const issued = await t.relay.app!.inject({ method: 'POST', url: `/admin/clients/${client.id}/keys`, headers: adminHeaders });
    expect(issued.statusCode).toBe(201);
    const second = issued.json();
    expect(second).toEqual({ id: expect.any(String), prefix: second.apiKey.slice(0, 19), apiKey: expect.stringMatching(/^prk_live_/) });

    // Both keys are the same client: the second sees what the first created.
    const created = await postEdit(t, client.auth);
    const seen = await replica.relay.app!.inject({
      method: 'GET',
      url: `/v1/edits/${created.json().id}`,
      headers: { authorization: `Bearer ${second.apiKey}` },
    });
    expect(seen.statusCode).toBe(200);

    const firstKeyId = (await t.db.apiKey.findFirstOrThrow({ where: { clientId: client.id, prefix: client.apiKey.slice(0, 19) } })).id;
    // Warm the replica with the key, so a cache (there is none) would hold it.
    expect((await replica.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=1', headers: client.auth })).statusCode).toBe(200);

    const revoked = await t.relay.app!.inject({ method: 'DELETE', url: `/admin/keys/${firstKeyId}`, headers: adminHeaders });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ id: firstKeyId, revokedAt: expect.any(String) });

    const refused = await replica.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=1', headers: client.auth });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().code).toBe('UNAUTHORIZED');
    expect(
      (await replica.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=1', headers: { authorization: `Bearer ${second.apiKey}` } })).statusCode,
    ).toBe(200);

    // Revoking again changes nothing.
    const again = await t.relay.app!.inject({ method: 'DELETE', url: `/admin/keys/${firstKeyId}`, headers: adminHeaders });
    expect(again.json().revokedAt).toBe(revoked.json().revokedAt);
  });

  it('refuses keys that are not ours, or ours with a byte changed', async () => {
    const client = await createClient(t);
    const flipped = client.apiKey.slice(0, -1) + (client.apiKey.endsWith('A') ? 'B' : 'A');
    for (const key of [flipped, client.apiKey.slice(0, 19), `${client.apiKey}x`, 'prk_live_', 'x'.repeat(4000)]) {
      const res = await t.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=1', headers: { authorization: `Bearer ${key}` } });
      expect(res.statusCode, key.slice(0, 40)).toBe(401);
    }
  });

  it('the database holds only hashes: no column of any row contains a key or its secret part', async () => {
    const client = await createClient(t);
    const issued = (await t.relay.app!.inject({ method: 'POST', url: `/admin/clients/${client.id}/keys`, headers: adminHeaders })).json();
    const tables = await t.db.$queryRaw<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`;
    let dump = '';
    for (const { table_name } of tables) {
      const rows = await t.db.$queryRawUnsafe<{ row: unknown }[]>(`SELECT row_to_json(x)::text AS row FROM "${table_name}" x`);
      dump += rows.map((r) => r.row).join('\n');
    }
    for (const key of [client.apiKey, issued.apiKey]) {
      expect(dump).not.toContain(key.slice(20));
      const stored = await t.db.apiKey.findUniqueOrThrow({ where: { prefix: key.slice(0, 19) } });
      expect(stored.hash).toBe(createHash('sha256').update(key).digest('hex'));
    }
  });

  it('records when a key was last used', async () => {
    const client = await createClient(t);
    await t.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=1', headers: client.auth });
    const detail = async () => (await t.relay.app!.inject({ method: 'GET', url: `/admin/clients/${client.id}`, headers: adminHeaders })).json();
    await expect.poll(async () => (await detail()).keys[0].lastUsedAt, { timeout: 5_000 }).not.toBeNull();
  });
});

describe('ownership', () => {
  it('another client gets 404 for an edit, never sees it listed, and cannot cancel or redeliver it', async () => {
    const owner = await createClient(t, { name: 'owner' });
    const other = await createClient(t, { name: 'other' });
    const id = (await postEdit(t, owner.auth)).json().id;

    for (const caller of [other.auth, t.auth]) {
      for (const [method, url] of [
        ['GET', `/v1/edits/${id}`],
        ['POST', `/v1/edits/${id}/cancel`],
        ['POST', `/v1/edits/${id}/callback/redeliver`],
      ] as const) {
        const res = await t.relay.app!.inject({ method, url, headers: caller });
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(res.json()).toMatchObject({ code: 'EDIT_NOT_FOUND', message: `No edit with id ${id}` });
      }
      const list = await t.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=100', headers: caller });
      expect(list.json().edits.map((e: { id: string }) => e.id)).not.toContain(id);
    }
    expect((await t.db.edit.findUniqueOrThrow({ where: { id } })).status).toBe('queued');

    const own = await t.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=100', headers: owner.auth });
    expect(own.json().edits.map((e: { id: string }) => e.id)).toEqual([id]);
    const cancelled = await t.relay.app!.inject({ method: 'POST', url: `/v1/edits/${id}/cancel`, headers: owner.auth });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
  });

  it('a bootstrap key (API_KEYS) still sees its own edits, and only those', async () => {
    const id = (await postEdit(t, t.auth)).json().id;
    const client = await createClient(t);
    expect((await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: t.auth })).statusCode).toBe(200);
    expect((await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: client.auth })).statusCode).toBe(404);
    const list = await t.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=100', headers: t.auth });
    const ids = (await t.db.edit.findMany({ where: { clientId: t.clientId }, select: { id: true } })).map((e) => e.id);
    expect(
      list
        .json()
        .edits.map((e: { id: string }) => e.id)
        .sort(),
    ).toEqual(ids.sort());
  });

  it('idempotency keys are per client: the same key from two clients makes two edits', async () => {
    const a = await createClient(t);
    const b = await createClient(t);
    const key = { 'idempotency-key': 'shared-by-accident-1' };
    const fromA = await postEdit(t, a.auth, key);
    const fromB = await postEdit(t, b.auth, key);
    const replayA = await postEdit(t, a.auth, key);
    expect([fromA.statusCode, fromB.statusCode, replayA.statusCode]).toEqual([202, 202, 202]);
    expect(fromB.json().id).not.toBe(fromA.json().id);
    expect(fromB.headers['idempotent-replayed']).toBeUndefined();
    expect(replayA.json().id).toBe(fromA.json().id);
    expect(replayA.headers['idempotent-replayed']).toBe('true');
  });
});

describe('secrets in logs', () => {
  it('no log line carries the admin token or a key, whether it worked, was revoked or was wrong', async () => {
    const logFrom = t.logs.lines.length;
    const client = await createClient(t);
    const keyId = (await t.db.apiKey.findFirstOrThrow({ where: { clientId: client.id } })).id;
    await postEdit(t, client.auth);
    await t.relay.app!.inject({ method: 'DELETE', url: `/admin/keys/${keyId}`, headers: adminHeaders });
    await t.relay.app!.inject({ method: 'GET', url: '/v1/edits', headers: client.auth });
    await t.relay.app!.inject({ method: 'GET', url: '/admin/clients', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}x` } });
    const logs = t.logs.lines.slice(logFrom).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [TEST_ADMIN_TOKEN, client.apiKey.slice(20)]) expect(logs).not.toContain(secret);
  });
});
