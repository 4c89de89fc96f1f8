import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { fetchEdit, settledEdit, submitsFor as submitsForEdit } from '../helpers/edits.js';
import { eventually, queuesOf, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

let sim: Simulator;
let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ sim, t, stop } = await startRelayWithSimulator(
    { SUBMIT_FENCE_GRACE_MS: '1500', RECONCILE_GRACE_MS: '200', RECONCILE_MAX_INTERVAL_MS: '500', SWEEP_INTERVAL_MS: '200' },
    { pendingMs: 100, processingMs: 200, webhookRetryDelaysMs: [100, 200] },
  ));
});
afterAll(() => stop?.());
afterEach(() => sim.configure({ webhook: 'deliver', webhookFaultRate: undefined }));

const input = { prompt: 'delivery guarantees', image_urls: ['https://example.com/a.jpg'] };
const inject = (req: InjectOptions) => t.relay.app!.inject(req);
const post = async (body: object = { input }, headers: Record<string, string> = {}) =>
  inject({ method: 'POST', url: '/v1/edits', headers: { ...t.auth, ...headers }, payload: body });
const getEdit = (id: string) => fetchEdit(t, id);
const settled = (id: string) => settledEdit(t, id);
const submitsFor = (id: string) => submitsForEdit(sim, id);
const realTransitions = (edit: { history: { from: string | null; to: string }[] }) =>
  edit.history.filter((h) => h.from !== h.to).map((h) => `${h.from}->${h.to}`);

describe('the submit fence', () => {
  it('resubmits only after the grace period shows no trace of a lost submit, and says a duplicate charge was possible', async () => {
    sim.nextSubmit({ kind: 'drop' }); // the connection dies and PixelByte made no job: no webhook will ever come
    const id = (await post()).json().id;
    const edit = await settled(id);
    expect(edit.status).toBe('completed');
    const calls = submitsFor(id);
    expect(calls).toHaveLength(2);
    expect(new Date(calls[1]!.at).getTime() - new Date(calls[0]!.at).getTime()).toBeGreaterThanOrEqual(1400);
    expect(edit.history.some((h: { cause: string }) => h.cause.includes('a duplicate charge is possible'))).toBe(true);
  });
});

describe('an accepted submit', () => {
  it('is recorded on the attempt and the edit together, and an accepted attempt is never followed by another send', async () => {
    const id = (await post()).json().id;
    const edit = await settled(id);
    const attempts = await t.db.submitAttempt.findMany({ where: { editId: id } });
    expect(attempts.map((a) => [a.outcome, a.upstreamJobId])).toEqual([['accepted', edit.upstream.jobId]]);

    // The state a crash between two separate writes would leave: PixelByte took it, the edit does not know.
    const stranded = await t.edits.create({
      id: randomUUID(),
      model: edit.model,
      input: edit.input,
      clientId: t.clientId,
      estimatedCostMicroCents: 45_000,
      imagesOrdered: 1,
    });
    const attempt = await t.edits.beginSubmitAttempt(stranded.id, 1, 'submit attempt 1');
    await t.db.submitAttempt.update({
      where: { id: (attempt as { id: bigint }).id },
      data: { outcome: 'accepted', upstreamJobId: 'job_stranded', finishedAt: new Date() },
    });
    await t.db.edit.update({ where: { id: stranded.id }, data: { updatedAt: new Date(Date.now() - 60_000) } });
    // The sweeper finds it (submitting, no queue entry) and hands it to a worker, which must not send it again.
    const queues = queuesOf(t);
    try {
      const verdict = await eventually(
        async () => ((await queues.submit.getJob(stranded.id))?.returnvalue as string | null) ?? undefined,
        10_000,
        'the worker to look at it',
      );
      expect(verdict).toBe('PixelByte already accepted this edit');
    } finally {
      await queues.close();
    }
    expect(submitsFor(stranded.id)).toHaveLength(0);
  });
});

describe('lost, duplicated and reordered webhooks', () => {
  it('completes an edit whose webhook never comes, by asking PixelByte', async () => {
    sim.configure({ webhook: 'drop' });
    const id = (await post({ input: { ...input, num_images: 2 } })).json().id;
    const edit = await settled(id);
    expect(edit.status).toBe('completed');
    expect(edit.outputs).toHaveLength(2);
    expect(edit.history.at(-1).cause).toMatch(/^poll: completed/);
    expect(sim.deliveries.filter((d) => d.jobId === edit.upstream.jobId)).toHaveLength(0);
  });

  it('lands on the right final state with each real transition once when webhooks repeat and arrive out of order', async () => {
    sim.nextSubmit({ kind: 'duplicate-webhook' });
    const dup = (await post()).json().id;
    await eventually(() => (submitsFor(dup).length ? true : undefined), 5_000, 'the first submit');
    sim.configure({ webhook: 'reorder' });
    const reorderedA = (await post()).json().id;
    const reorderedB = (await post({ input: { ...input, prompt: 'second' } })).json().id;
    for (const id of [dup, reorderedA, reorderedB]) {
      const edit = await settled(id);
      expect(edit.status).toBe('completed');
      expect(realTransitions(edit)).toEqual(['null->queued', 'queued->submitting', 'submitting->submitted', 'submitted->completed']);
      // Every delivery is stored once, however often it came (the reconciler may have finished the edit first).
      await eventually(async () => ((await t.db.webhookEvent.count({ where: { editId: id } })) >= 1 ? true : undefined), 5_000, 'the webhook');
      expect(await t.db.webhookEvent.count({ where: { editId: id } })).toBe(1);
      expect(realTransitions(await getEdit(id))).toEqual(realTransitions(edit));
    }
    const dupJob = (await getEdit(dup)).upstream.jobId;
    await eventually(() => (sim.deliveries.filter((d) => d.jobId === dupJob).length >= 2 ? true : undefined), 5_000, 'the duplicate delivery');
    expect((await getEdit(dup)).status).toBe('completed');
  });
});

describe('Idempotency-Key', () => {
  it('replays the original response for a repeat, and creates and submits nothing more', async () => {
    const key = `order-${Date.now()}`;
    const first = await post({ input }, { 'idempotency-key': key });
    expect(first.statusCode).toBe(202);
    const again = await post({ input: { image_urls: input.image_urls, prompt: input.prompt } }, { 'idempotency-key': key });
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    await settled(first.json().id);
    expect(submitsFor(first.json().id)).toHaveLength(1);
    expect(await t.db.idempotencyKey.count({ where: { key } })).toBe(1);
  });

  it('refuses the same key with a different body: 422 IDEMPOTENCY_KEY_REUSED, nothing stored', async () => {
    const key = `k-${Date.now()}`;
    const first = await post({ input }, { 'idempotency-key': key });
    const before = await t.db.edit.count();
    const other = await post({ input: { ...input, prompt: 'something else' } }, { 'idempotency-key': key });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { editId: first.json().id } });
    expect(await t.db.edit.count()).toBe(before);
  });

  it('creates exactly one edit for 20 concurrent requests with one key', async () => {
    const key = `burst-${Date.now()}`;
    const responses = await Promise.all(Array.from({ length: 20 }, () => post({ input: { ...input, prompt: 'burst' } }, { 'idempotency-key': key })));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(202));
    const ids = new Set(responses.map((r) => r.json().id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(await t.db.edit.count({ where: { input: { path: ['prompt'], equals: 'burst' } } })).toBe(1);
    await settled(id!);
    expect(submitsFor(id!)).toHaveLength(1);
  });

  it('rejects a key over 255 characters', async () => {
    const res = await post({ input }, { 'idempotency-key': 'k'.repeat(256) });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('INVALID_IDEMPOTENCY_KEY');
  });
});
