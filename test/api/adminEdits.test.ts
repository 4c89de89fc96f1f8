import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackReceiver } from '../helpers/callbackReceiver.js';
import { adminHeaders, createClient, TEST_ADMIN_TOKEN, type TestClient } from '../helpers/clients.js';
import { eventually, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';
const MINI = 'openai/gpt-image-1-mini/edit-image';

let t: TestRelay;
let stop: () => Promise<void>;
let receiver: CallbackReceiver;
let alice: TestClient;
let bob: TestClient;
const ids: Record<string, string> = {};

async function create(who: TestClient, model: string, input: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const res = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: who.auth, payload: { model, input, ...extra } });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
}

const inject = (url: string, headers: Record<string, string>) => t.relay.app!.inject({ method: 'GET', url, headers });

beforeAll(async () => {
  receiver = await CallbackReceiver.start();
  ({ t, stop } = await startRelayWithSimulator(
    { ADMIN_TOKEN: TEST_ADMIN_TOKEN, CALLBACK_ALLOW_PRIVATE: 'true', ALLOW_HTTP_CALLBACKS: 'true' },
    { pendingMs: 50, processingMs: 100 },
  ));
  alice = await createClient(t, { name: 'alice' });
  bob = await createClient(t, { name: 'bob' });
  ids.alicePro = await create(alice, PRO, { prompt: 'a', image_urls: ['https://example.com/a.png'] }, { callbackUrl: `${receiver.url}/alice` });
  ids.aliceMini = await create(alice, MINI, { prompt: 'b', image_url: 'https://example.com/b.png' });
  ids.bobPro = await create(bob, PRO, { prompt: 'c', image_urls: ['https://example.com/c.png'] });
  await eventually(async () => {
    const edit = (await inject(`/v1/edits/${ids.alicePro}`, alice.auth)).json();
    return edit.status === 'completed' && edit.callback.status === 'delivered' ? edit : undefined;
  }, 20_000);
});
afterAll(async () => {
  await stop?.();
  await receiver?.close();
});

describe('GET /admin/edits', () => {
  it('lists every client’s edits, newest first, each with its clientId', async () => {
    const res = await inject('/admin/edits?limit=100', adminHeaders);
    expect(res.statusCode, res.body).toBe(200);
    const edits = res.json().edits as { id: string; clientId: string }[];
    const byId = new Map(edits.map((e) => [e.id, e.clientId]));
    expect(byId.get(ids.alicePro!)).toBe(alice.id);
    expect(byId.get(ids.aliceMini!)).toBe(alice.id);
    expect(byId.get(ids.bobPro!)).toBe(bob.id);
    expect(edits.map((e) => e.id).indexOf(ids.bobPro!)).toBeLessThan(edits.map((e) => e.id).indexOf(ids.alicePro!));
  });

  it('filters by client, model and status, and pages with a cursor', async () => {
    const ofAlice = (await inject(`/admin/edits?clientId=${alice.id}`, adminHeaders)).json().edits.map((e: { id: string }) => e.id);
    expect(ofAlice.sort()).toEqual([ids.alicePro, ids.aliceMini].sort());
    const mini = (await inject(`/admin/edits?model=${encodeURIComponent(MINI)}`, adminHeaders)).json().edits.map((e: { id: string }) => e.id);
    expect(mini).toEqual([ids.aliceMini]);
    const completed = (await inject('/admin/edits?status=completed&limit=100', adminHeaders)).json().edits as { status: string }[];
    expect(completed.every((e) => e.status === 'completed')).toBe(true);
    const first = (await inject('/admin/edits?limit=1', adminHeaders)).json();
    expect(first.edits).toHaveLength(1);
    const second = (await inject(`/admin/edits?limit=1&cursor=${encodeURIComponent(first.nextCursor)}`, adminHeaders)).json();
    expect(second.edits[0].id).not.toBe(first.edits[0].id);
  });

  it('refuses a bad query with INVALID_INPUT, and any caller without the admin token with 401', async () => {
    for (const query of ['status=nope', 'limit=0', 'cursor=garbage', 'unknown=1', `model=${'m'.repeat(201)}`]) {
      const res = await inject(`/admin/edits?${query}`, adminHeaders);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().code).toBe('INVALID_INPUT');
    }
    for (const headers of [alice.auth, {}, { authorization: 'Bearer wrong' }]) {
      expect((await inject('/admin/edits', headers)).statusCode).toBe(401);
    }
  });
});

describe('GET /admin/edits/{id}', () => {
  it('reads any client’s edit with its history, submit attempts and callback deliveries', async () => {
    const res = await inject(`/admin/edits/${ids.alicePro}?include=history,attempts,deliveries`, adminHeaders);
    expect(res.statusCode, res.body).toBe(200);
    const edit = res.json();
    expect(edit.clientId).toBe(alice.id);
    expect(edit.history.map((h: { to: string }) => h.to)).toContain('completed');
    expect(edit.attempts).toMatchObject([{ attempt: 1, outcome: 'accepted', httpStatus: expect.any(Number) }]);
    expect(edit.deliveries).toMatchObject([{ type: 'edit.completed', status: 'delivered', log: [{ series: 1, attempt: 1, statusCode: 200 }] }]);
  });

  it('answers an unknown or malformed id with 404 EDIT_NOT_FOUND', async () => {
    for (const id of ['00000000-0000-0000-0000-000000000000', 'not-a-uuid']) {
      const res = await inject(`/admin/edits/${id}`, adminHeaders);
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('EDIT_NOT_FOUND');
    }
  });
});

describe('the client API’s extras and filters', () => {
  it('GET /v1/edits/{id}?include=attempts,deliveries shows the client its own attempts and callbacks, and no clientId', async () => {
    const res = await inject(`/v1/edits/${ids.alicePro}?include=attempts,deliveries`, alice.auth);
    expect(res.statusCode).toBe(200);
    const edit = res.json();
    expect(edit.attempts).toHaveLength(1);
    expect(edit.deliveries[0].status).toBe('delivered');
    expect(edit.history).toBeUndefined();
    expect(edit.clientId).toBeUndefined();
  });

  it('GET /v1/edits?model= lists only the caller’s edits of that model', async () => {
    const mine = (await inject(`/v1/edits?model=${encodeURIComponent(PRO)}`, alice.auth)).json().edits.map((e: { id: string }) => e.id);
    expect(mine).toEqual([ids.alicePro]);
    const theirs = (await inject(`/v1/edits?model=${encodeURIComponent(PRO)}`, bob.auth)).json().edits.map((e: { id: string }) => e.id);
    expect(theirs).toEqual([ids.bobPro]);
  });

  it('GET /v1/usage carries the client’s daily budget', async () => {
    const budgeted = await createClient(t, { name: 'budgeted', dailyBudgetMicroCents: 2_000_000 });
    expect((await inject('/v1/usage', budgeted.auth)).json().dailyBudgetMicroCents).toBe(2_000_000);
    expect((await inject('/v1/usage', t.auth)).json().dailyBudgetMicroCents).toBeNull();
  });
});
