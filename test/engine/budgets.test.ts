import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { findModel } from '../../src/catalog/models.js';
import { adminHeaders, createClient, TEST_ADMIN_TOKEN, type TestClient } from '../helpers/clients.js';
import { eventually, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

const MODEL = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';
const input = { prompt: 'a budget of its own', image_urls: ['https://example.com/a.jpg'] };
const COST = findModel(MODEL)!.pricing.price(findModel(MODEL)!.input.parse(input)).totalMicroCents;

const post = (t: TestRelay, client: TestClient) =>
  t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: client.auth, payload: { model: MODEL, input } });
const today = (t: TestRelay, client: TestClient) =>
  t.relay.app!.inject({ method: 'GET', url: `/admin/clients/${client.id}`, headers: adminHeaders }).then((r) => r.json().today);

describe('a daily budget under concurrent accepts', () => {
  let t: TestRelay;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    // API only: nothing is submitted, so every reservation stays an estimate.
    ({ t, stop } = await startRelayWithSimulator({ ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN }));
  });
  afterAll(() => stop?.());

  it('of 20 concurrent requests against a budget that fits 5, exactly 5 are accepted and 15 get 402 with nothing stored', async () => {
    const client = await createClient(t, { dailyBudgetMicroCents: 5 * COST + COST / 2 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(t, client)));

    const accepted = answers.filter((r) => r.statusCode === 202);
    const refused = answers.filter((r) => r.statusCode === 402);
    expect(accepted).toHaveLength(5);
    expect(refused).toHaveLength(15);
    for (const res of refused) {
      expect(res.json()).toMatchObject({ statusCode: 402, code: 'BUDGET_EXCEEDED', details: { remainingMicroCents: expect.any(Number) } });
      expect(res.json().details.remainingMicroCents).toBeLessThan(COST);
    }
    expect(refused.at(-1)!.json().details.remainingMicroCents).toBe(COST / 2);
    expect(await t.db.edit.count({ where: { clientId: client.id } })).toBe(5);
    expect(await today(t, client)).toMatchObject({ spentMicroCents: 5 * COST, remainingMicroCents: COST / 2 });
  });

  it('an edit that alone exceeds the budget is refused, an Idempotency-Key with it is not kept, and raising the budget lets it in', async () => {
    const client = await createClient(t, { dailyBudgetMicroCents: COST - 1 });
    const headers = { ...client.auth, 'idempotency-key': 'over-budget-1' };
    const refused = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers, payload: { model: MODEL, input } });
    expect(refused.statusCode).toBe(402);
    expect(refused.json().details).toEqual({ remainingMicroCents: COST - 1 });
    expect(await t.db.idempotencyKey.count({ where: { clientId: client.id } })).toBe(0);

    await t.relay.app!.inject({ method: 'PATCH', url: `/admin/clients/${client.id}`, headers: adminHeaders, payload: { dailyBudgetMicroCents: COST } });
    const retried = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers, payload: { model: MODEL, input } });
    expect(retried.statusCode).toBe(202);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
  });

  it('a budget of 0 refuses everything; no budget and the bootstrap keys refuse nothing', async () => {
    const broke = await createClient(t, { dailyBudgetMicroCents: 0 });
    expect((await post(t, broke)).statusCode).toBe(402);
    const unlimited = await createClient(t);
    for (let i = 0; i < 3; i++) expect((await post(t, unlimited)).statusCode).toBe(202);
    expect(await today(t, unlimited)).toMatchObject({ spentMicroCents: 3 * COST, remainingMicroCents: null });
    const bootstrap = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { model: MODEL, input } });
    expect(bootstrap.statusCode).toBe(202);
  });
});

describe('reservations released and settled', () => {
  let sim: Simulator;
  let t: TestRelay;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    // Jobs wait 2 s at PixelByte before processing: long enough to cancel one there.
    ({ sim, t, stop } = await startRelayWithSimulator({ ADMIN_TOKEN: TEST_ADMIN_TOKEN }, { pendingMs: 2_000, processingMs: 200 }));
  });
  afterAll(() => stop?.());

  const jobOf = (editId: string) =>
    eventually(async () => (await t.db.edit.findUniqueOrThrow({ where: { id: editId } })).upstreamJobId ?? undefined, 10_000, 'a job');
  const settled = (client: TestClient, id: string) =>
    eventually(
      async () => {
        const edit = (await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: client.auth })).json();
        return ['completed', 'failed', 'cancelled'].includes(edit.status) ? edit : undefined;
      },
      15_000,
      `edit ${id} to settle`,
    );

  it('a failed and a cancelled edit give their reservation back; usage equals what PixelByte charged', async () => {
    const client = await createClient(t, { dailyBudgetMicroCents: 2 * COST });

    sim.nextSubmit({ kind: 'generation-failure' });
    const failing = (await post(t, client)).json().id;
    await jobOf(failing);
    const cancelling = (await post(t, client)).json().id;
    await jobOf(cancelling);
    const full = await post(t, client);
    expect(full.statusCode).toBe(402);
    expect(full.json().details).toEqual({ remainingMicroCents: 0 });

    // Cancelled at PixelByte while pending (refunded there): its reservation comes back.
    const cancelled = await t.relay.app!.inject({ method: 'POST', url: `/v1/edits/${cancelling}/cancel`, headers: client.auth });
    expect(cancelled.json().status).toBe('cancelled');
    expect(await today(t, client)).toMatchObject({ spentMicroCents: COST, remainingMicroCents: COST });
    const third = await post(t, client);
    expect(third.statusCode).toBe(202);
    expect((await post(t, client)).statusCode).toBe(402);

    // Failed at PixelByte (refunded there): its reservation comes back too.
    expect((await settled(client, failing)).status).toBe('failed');
    expect(await today(t, client)).toMatchObject({ spentMicroCents: COST, remainingMicroCents: COST });
    const fourth = await post(t, client);
    expect(fourth.statusCode).toBe(202);

    for (const id of [third.json().id, fourth.json().id]) expect((await settled(client, id)).status).toBe('completed');

    const { chargedMicroCents, refundedMicroCents } = sim.stats();
    expect(chargedMicroCents - refundedMicroCents).toBe(2 * COST);
    const usage = await t.relay.app!.inject({ method: 'GET', url: '/v1/usage', headers: client.auth });
    expect(usage.statusCode).toBe(200);
    const day = new Date().toISOString().slice(0, 10);
    expect(usage.json().totals).toEqual({ edits: 4, spentMicroCents: chargedMicroCents - refundedMicroCents, pendingMicroCents: 0 });
    expect(usage.json().days).toEqual([{ day, model: MODEL, edits: 4, completed: 2, refunded: 2, spentMicroCents: 2 * COST, pendingMicroCents: 0 }]);
    expect(await today(t, client)).toMatchObject({ spentMicroCents: chargedMicroCents - refundedMicroCents });
  });

  it('usage is each client’s own, by day and model, within the range asked', async () => {
    const a = await createClient(t);
    const b = await createClient(t);
    const other = 'openai/gpt-image-1-mini/edit-image';
    const ids = [
      (await post(t, a)).json().id,
      (
        await t.relay.app!.inject({
          method: 'POST',
          url: '/v1/edits',
          headers: a.auth,
          payload: { model: other, input: { prompt: 'x', image_url: 'https://example.com/a.jpg' } },
        })
      ).json().id,
    ];
    for (const id of ids) await settled(a, id);
    const day = new Date().toISOString().slice(0, 10);

    const usageA = (await t.relay.app!.inject({ method: 'GET', url: `/v1/usage?from=${day}&to=${day}`, headers: a.auth })).json();
    expect(usageA.days.map((d: { model: string; edits: number }) => [d.model, d.edits])).toEqual([
      [other, 1],
      [MODEL, 1],
    ]);
    expect(usageA.totals.spentMicroCents).toBe(COST + findModel(other)!.pricing.baseMicroCents);

    const usageB = (await t.relay.app!.inject({ method: 'GET', url: '/v1/usage', headers: b.auth })).json();
    expect(usageB.totals).toEqual({ edits: 0, spentMicroCents: 0, pendingMicroCents: 0 });

    const dayBefore = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
    const before = (await t.relay.app!.inject({ method: 'GET', url: `/v1/usage?from=${dayBefore(366)}&to=${dayBefore(1)}`, headers: a.auth })).json();
    expect(before).toMatchObject({ from: dayBefore(366), to: dayBefore(1), days: [], totals: { edits: 0 } });
  });
});
