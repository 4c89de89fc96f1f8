import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../simulator/index.js';
import { eventually, startRelayWithSimulator, startTestRelay, type TestRelay } from '../helpers/relay.js';

// slowSim keeps jobs pending for seconds (cancellable upstream); quickSim starts them at once.
let slowSim: Simulator;
let quickSim: Simulator;
let apiOnly: TestRelay;
let slow: TestRelay;
let quick: TestRelay;

beforeAll(async () => {
  slowSim = createSimulator({ pendingMs: 5_000, processingMs: 100 });
  quickSim = createSimulator({ pendingMs: 50, processingMs: 1_500 });
  const slowUrl = await slowSim.listen(0, '127.0.0.1');
  [apiOnly, slow, quick] = await Promise.all([
    startTestRelay(slowUrl, { ROLE: 'api' }),
    startTestRelay(slowUrl),
    startTestRelay(await quickSim.listen(0, '127.0.0.1')),
  ]);
});
afterAll(async () => {
  await Promise.all([apiOnly?.stop(), slow?.stop(), quick?.stop()]);
  await Promise.all([slowSim?.close(), quickSim?.close()]);
});

const input = { prompt: 'cancel me', image_urls: ['https://example.com/a.jpg'] };
async function post(t: TestRelay) {
  return (await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { input } })).json().id as string;
}
const cancel = (t: TestRelay, id: string) => t.relay.app!.inject({ method: 'POST', url: `/v1/edits/${id}/cancel`, headers: t.auth });
const getEdit = async (t: TestRelay, id: string) =>
  (await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}?include=history`, headers: t.auth })).json();

describe('POST /v1/edits/:id/cancel', () => {
  it('cancels a queued edit and takes it off the queue', async () => {
    const id = await post(apiOnly);
    const { createQueues } = await import('../../src/queue/queues.js');
    const { createRedis } = await import('../../src/infra/redis.js');
    const redis = createRedis(apiOnly.config.REDIS_URL, 'worker');
    const queues = createQueues(redis, apiOnly.config.QUEUE_PREFIX);
    try {
      expect(await queues.submit.getJob(id)).toBeDefined();
      const res = await cancel(apiOnly, id);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id, status: 'cancelled', completedAt: expect.any(String) });
      expect(await queues.submit.getJob(id)).toBeUndefined();
      const edit = await getEdit(apiOnly, id);
      expect(edit.history.at(-1)).toMatchObject({ from: 'queued', to: 'cancelled' });
    } finally {
      await queues.close();
      await redis.quit();
    }
  });

  it('cancels at PixelByte an edit whose job is still pending there, recording the refund', async () => {
    const id = await post(slow);
    const jobId = await eventually(async () => (await getEdit(slow, id)).upstream.jobId ?? undefined, 10_000, 'the submit');
    const res = await cancel(slow, id);
    expect(res.statusCode).toBe(200);
    const edit = res.json();
    expect(edit).toMatchObject({ status: 'cancelled', upstream: { jobId, status: 'cancelled' } });
    const stored = await slow.db.edit.findUniqueOrThrow({ where: { id } });
    expect(stored.refundedMicroCents).toBe(45_000);
    expect(slowSim.jobs.get(jobId)?.status).toBe('cancelled');
    expect(slowSim.calls.filter((c) => c.path === `/v1/jobs/${jobId}/cancel`)).toHaveLength(1);
  });

  it('answers 409 EDIT_NOT_CANCELLABLE with the status once PixelByte has started the job', async () => {
    const id = await post(quick);
    const jobId = await eventually(async () => (await getEdit(quick, id)).upstream.jobId ?? undefined, 10_000, 'the submit');
    await eventually(() => (quickSim.jobs.get(jobId)?.status === 'processing' ? true : undefined), 5_000, 'processing upstream');
    const res = await cancel(quick, id);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'EDIT_NOT_CANCELLABLE', details: { status: 'submitted', upstreamCode: 'JOB_CANNOT_BE_CANCELLED' } });
    expect((await getEdit(quick, id)).status).not.toBe('cancelled');
  });

  it('answers 409 for a finished edit and 404 for an unknown one', async () => {
    const id = await post(quick);
    await eventually(async () => ((await getEdit(quick, id)).status === 'completed' ? true : undefined), 10_000, 'completion');
    const res = await cancel(quick, id);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'EDIT_NOT_CANCELLABLE', details: { status: 'completed' } });
    const unknown = await cancel(quick, randomUUID());
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('EDIT_NOT_FOUND');
  });
});

describe('a cancel that a status poll overtakes', () => {
  let racingSim: Simulator;
  let racing: TestRelay;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    // Jobs stay pending for a minute, so the cancel always finds its job cancellable; PixelByte's answer
    // to it takes 5 s, long enough for the reconciler to learn of the cancellation first.
    ({
      sim: racingSim,
      t: racing,
      stop,
    } = await startRelayWithSimulator({ RECONCILE_GRACE_MS: '0', UPSTREAM_TIMEOUT_MS: '20000' }, { pendingMs: 60_000, processingMs: 100 }));
    racingSim.configure({ cancelResponseDelayMs: 5_000 });
  });
  afterAll(() => stop?.());

  it('still records the refund and answers 200 with the cancelled edit', async () => {
    const id = await post(racing);
    const jobId = await eventually(async () => (await getEdit(racing, id)).upstream.jobId ?? undefined, 10_000, 'the submit');
    const answer = cancel(racing, id);
    await eventually(() => (racingSim.jobs.get(jobId)?.status === 'cancelled' ? true : undefined), 10_000, 'the cancel at PixelByte');
    // Overdue now (not a minute from now): the reconciler's next round polls the job and finds it cancelled.
    await racing.db.edit.update({ where: { id }, data: { nextPollAt: new Date() } });
    await eventually(async () => ((await getEdit(racing, id)).status === 'cancelled' ? true : undefined), 10_000, 'the reconciler');

    const res = await answer;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'cancelled', upstream: { jobId, status: 'cancelled' } });
    const { history } = await getEdit(racing, id);
    // The poll moved the edit, before PixelByte's answer to the cancel arrived: the race did happen.
    expect(history.filter((h: { from: string; to: string }) => h.to === 'cancelled' && h.from !== 'cancelled')).toMatchObject([
      { from: 'submitted', cause: expect.stringContaining('poll') },
    ]);
    expect(history.at(-1)).toMatchObject({ from: 'cancelled', to: 'cancelled', cause: `PixelByte refunded 45000 micro-cents for cancelled job ${jobId}` });
    expect((await racing.db.edit.findUniqueOrThrow({ where: { id } })).refundedMicroCents).toBe(45_000);
    expect(racingSim.stats().refundedMicroCents).toBe(45_000);
    expect(racingSim.calls.filter((c) => c.path === `/v1/jobs/${jobId}/cancel`)).toHaveLength(1);
  });
});
