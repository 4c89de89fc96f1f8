import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../simulator/index.js';
import { EditRepository } from '../../src/store/edits/repository.js';
import { CallbackReceiver } from '../helpers/callbackReceiver.js';
import { eventually, startTestRelay, type TestRelay } from '../helpers/relay.js';

// The edit row and its callback row (the outbox) are written in one transaction by the terminal move; the
// enqueue follows the commit, from whoever made the move, and the sweeper only repairs a lost one.
const RECEIVER_ENV = { ALLOW_HTTP_CALLBACKS: 'true', CALLBACK_ALLOW_PRIVATE: 'true' };
const input = { prompt: 'outbox', image_urls: ['https://example.com/a.jpg'] };

let sim: Simulator;
let simUrl: string;
let receiver: CallbackReceiver;

beforeAll(async () => {
  sim = createSimulator({ pendingMs: 50, processingMs: 100 });
  simUrl = await sim.listen(0, '127.0.0.1');
  receiver = await CallbackReceiver.start();
});
afterAll(async () => {
  await receiver?.close();
  await sim?.close();
});

describe('a terminal move', () => {
  let t: TestRelay;
  // API only: no worker touches the rows these tests move by hand.
  beforeAll(async () => (t = await startTestRelay(simUrl, { ...RECEIVER_ENV, ROLE: 'api' })));
  afterAll(async () => t?.stop());

  const newEdit = (callbackUrl?: string) =>
    t.edits.create({
      id: randomUUID(),
      model: 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image',
      input,
      callbackUrl,
      clientId: t.clientId,
      estimatedCostMicroCents: 1,
      imagesOrdered: 1,
    });

  it('returns the callback row it wrote in its own transaction, for the caller to enqueue', async () => {
    const edit = await newEdit(`${receiver.url}/outbox`);
    const moved = await t.edits.move(edit.id, 'cancelled', { cause: 'test', data: { completedAt: new Date() } });
    const delivery = await t.deliveries.findByEdit(edit.id);
    expect(delivery).toMatchObject({ type: 'edit.cancelled', status: 'pending' });
    expect(moved).toMatchObject({ moved: true, from: 'queued', outbox: { callbacks: [delivery!.id], mirrors: [] } });
  });

  it('writes no outbox row for an edit without a callbackUrl, nor for a move that does not end the edit', async () => {
    const plain = await newEdit();
    expect(await t.edits.move(plain.id, 'failed', { cause: 'test' })).toMatchObject({ moved: true, outbox: { callbacks: [], mirrors: [] } });
    const open = await newEdit(`${receiver.url}/outbox`);
    expect(await t.edits.move(open.id, 'submitting', { cause: 'test' })).toMatchObject({ moved: true, outbox: { callbacks: [], mirrors: [] } });
    expect(await t.db.callbackDelivery.count({ where: { editId: { in: [plain.id, open.id] } } })).toBe(0);
  });

  it('a move into storing writes the mirror’s task, returned for the caller to enqueue; the completion finishes it with its tallies', async () => {
    const edit = await newEdit(`${receiver.url}/outbox`);
    await t.edits.move(edit.id, 'submitting', { cause: 'test' });
    const outputs = [{ url: 'https://cdn.example/0.png', type: 'image' }];
    const storing = await t.edits.move(edit.id, 'storing', { cause: 'test', data: { outputs } });
    expect(storing).toMatchObject({ moved: true, from: 'submitting', outbox: { callbacks: [], mirrors: [edit.id] } });
    const task = await t.db.mirrorTask.findUnique({ where: { editId: edit.id } });
    expect(task).toMatchObject({ attempts: 0, finishedAt: null });
    expect(task!.deadlineAt.getTime() - task!.createdAt.getTime()).toBe(15 * 60_000);

    const mirrored = [{ ...outputs[0], mirror: { key: 'k/0.png', bytes: 1234, sha256: 'ab', contentType: 'image/png', storedAt: new Date().toISOString() } }];
    const completed = await t.edits.move(edit.id, 'completed', { cause: 'test', data: { outputs: mirrored, completedAt: new Date() } });
    const delivery = await t.deliveries.findByEdit(edit.id);
    expect(completed).toMatchObject({ moved: true, from: 'storing', outbox: { callbacks: [delivery!.id], mirrors: [] } });
    expect(await t.db.mirrorTask.findUnique({ where: { editId: edit.id } })).toMatchObject({ outputsStored: 1, outputsFailed: 0, bytesStored: 1234n });
    expect((await t.db.mirrorTask.findUnique({ where: { editId: edit.id } }))!.finishedAt).not.toBeNull();
  });

  it('is the callbacks feature’s hook: the edits repository alone knows nothing of callbacks', async () => {
    const edit = await newEdit(`${receiver.url}/outbox`);
    const bare = new EditRepository(t.db);
    expect(await bare.move(edit.id, 'cancelled', { cause: 'test' })).toMatchObject({ moved: true, outbox: { callbacks: [], mirrors: [] } });
    expect(await t.deliveries.findByEdit(edit.id)).toBeNull();
  });
});

describe('the relay after the commit', () => {
  let t: TestRelay;
  // Sweeps once a minute: a callback that arrives within seconds was enqueued by the move itself.
  beforeAll(async () => (t = await startTestRelay(simUrl, { ...RECEIVER_ENV, SWEEP_INTERVAL_MS: '60000' })));
  afterAll(async () => t?.stop());

  const post = async (path: string) => {
    const res = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { input, callbackUrl: `${receiver.url}${path}` } });
    expect(res.statusCode).toBe(202);
    return res.json().id as string;
  };

  it('enqueues the callback of an edit a webhook completed (the API process)', async () => {
    await post('/relay/webhook');
    await eventually(() => receiver.callsTo('/relay/webhook')[0], 10_000, 'the callback');
  });

  it('enqueues the callback of an edit a worker failed', async () => {
    sim.nextSubmit({ kind: 'error', status: 400, code: 'INVALID_INPUT', message: 'refused' });
    await post('/relay/worker');
    const call = await eventually(() => receiver.callsTo('/relay/worker')[0], 10_000, 'the callback');
    expect(JSON.parse(call.body).type).toBe('edit.failed');
  });
});
