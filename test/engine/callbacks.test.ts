import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { deliverCallback } from '../../src/engine/callbacks/deliverCallback.js';
import { RedisCallbackSlots } from '../../src/engine/callbacks/slots.js';
import { createRedis } from '../../src/infra/redis.js';
import { createQueues } from '../../src/queue/queues.js';
import { CallbackReceiver, type ReceivedCallback } from '../helpers/callbackReceiver.js';
import { eventually, startRelayWithSimulator, startTestRelay, TEST_CALLBACK_SECRET, type TestRelay } from '../helpers/relay.js';
import { completedPayload, signedWebhook, webhookPath } from '../helpers/webhooks.js';

// Callbacks to 127.0.0.1 over plain http need both escape hatches; the retry schedule is shrunk
// 100,000-fold, so all ten attempts of a series take a few seconds. Redeliveries here follow each other at once;
// the cooldown has a relay of its own below.
const RECEIVER_ENV = {
  ALLOW_HTTP_CALLBACKS: 'true',
  CALLBACK_ALLOW_PRIVATE: 'true',
  CALLBACK_RETRY_SCALE: '0.00001',
  CALLBACK_TIMEOUT_MS: '1000',
  CALLBACK_REDELIVER_COOLDOWN_MS: '0',
};

let sim: Simulator;
let simUrl: string;
let receiver: CallbackReceiver;
let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  receiver = await CallbackReceiver.start();
  ({ sim, simUrl, t, stop } = await startRelayWithSimulator(RECEIVER_ENV, { pendingMs: 50, processingMs: 100, webhookRetryDelaysMs: [100, 200] }));
});
afterAll(async () => {
  await stop?.();
  await receiver?.close();
});

const input = { prompt: 'tell me when it is done', image_urls: ['https://example.com/a.jpg'] };

async function post(relay: TestRelay, body: object) {
  return relay.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: relay.auth, payload: body });
}
async function postWithCallback(path: string, relay = t): Promise<string> {
  const res = await post(relay, { input, callbackUrl: `${receiver.url}${path}`, metadata: { path } });
  expect(res.statusCode).toBe(202);
  return res.json().id;
}
async function getEdit(id: string, relay = t) {
  return (await relay.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: relay.auth })).json();
}
const redeliver = (id: string, relay = t) => relay.relay.app!.inject({ method: 'POST', url: `/v1/edits/${id}/callback/redeliver`, headers: relay.auth });
const callbackSettled = (id: string, relay = t, timeoutMs = 15_000) =>
  eventually(
    async () => {
      const edit = await getEdit(id, relay);
      return edit.callback.status === 'delivered' || edit.callback.status === 'failed' ? edit : undefined;
    },
    timeoutMs,
    `the callback of ${id} to settle`,
  );
const attemptsOf = async (editId: string, relay = t) => relay.db.callbackAttempt.findMany({ where: { delivery: { editId } }, orderBy: { id: 'asc' } });
const verified = (call: ReceivedCallback) =>
  new Webhook(TEST_CALLBACK_SECRET).verify(call.body, call.headers as Record<string, string>) as { type: string; timestamp: string; data: any };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a callback', () => {
  it('is a Standard Webhooks event carrying the final edit, retried after 500s under one webhook-id, delivered on attempt 3', async () => {
    receiver.script('/retried', { status: 500, body: 'boom' }, { status: 500, body: 'boom' }, 204);
    const id = await postWithCallback('/retried');
    const edit = await callbackSettled(id);

    expect(edit.status).toBe('completed');
    expect(edit.callback).toEqual({ status: 'delivered', attempts: 3, lastError: 'HTTP 500: boom', deliveredAt: expect.any(String) });
    const calls = receiver.callsTo('/retried');
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.headers['webhook-id'])).size).toBe(1);
    expect(calls[0]!.headers['webhook-id']).toMatch(/^msg_/);

    // Every attempt verifies with an independent implementation, and is the same event.
    const events = calls.map(verified);
    for (const event of events) {
      expect(event.type).toBe('edit.completed');
      expect(event.timestamp).toBe(events[0]!.timestamp);
    }
    // `data` is the edit exactly as GET showed it when the attempt left (so its callback was still pending).
    const { callback, ...final } = edit;
    expect(callback.status).toBe('delivered');
    expect(events[2]!.data).toEqual({ ...final, callback: { status: 'pending', attempts: 2, lastError: 'HTTP 500: boom', deliveredAt: null } });
    expect(events[0]!.data.callback).toEqual({ status: 'pending', attempts: 0, lastError: null, deliveredAt: null });
    expect(events[2]!.data.outputs).toHaveLength(1);
    expect(events[2]!.data.metadata).toEqual({ path: '/retried' });

    const attempts = await attemptsOf(id);
    expect(attempts.map((a) => [a.series, a.attempt, a.statusCode])).toEqual([
      [1, 1, 500],
      [1, 2, 500],
      [1, 3, 204],
    ]);
    for (const a of attempts) expect(a.durationMs).toBeGreaterThanOrEqual(0);
    expect(attempts[0]!.error).toBe('HTTP 500: boom');
    expect(attempts[2]!.error).toBeNull();
  });

  it('says edit.failed for an edit that failed', async () => {
    sim.nextSubmit({ kind: 'generation-failure' });
    const id = await postWithCallback('/failed-edit');
    const edit = await callbackSettled(id);
    expect(edit).toMatchObject({ status: 'failed', callback: { status: 'delivered', attempts: 1 } });
    const event = verified(receiver.callsTo('/failed-edit')[0]!);
    expect(event.type).toBe('edit.failed');
    expect(event.data).toMatchObject({ id, status: 'failed', error: { code: 'GENERATION_FAILED' } });
  });

  it('stops at 410 Gone', async () => {
    receiver.script('/gone', { status: 410, body: 'no such hook' });
    const id = await postWithCallback('/gone');
    const edit = await callbackSettled(id);
    expect(edit.callback).toEqual({ status: 'failed', attempts: 1, lastError: 'HTTP 410: no such hook', deliveredAt: null });
    await sleep(300); // far longer than the shrunk schedule's first steps
    expect(receiver.callsTo('/gone')).toHaveLength(1);
  });

  it('waits as long as a 429 Retry-After asks', async () => {
    receiver.script('/slow-down', { status: 429, headers: { 'retry-after': '1' } }, 200);
    const id = await postWithCallback('/slow-down');
    const edit = await callbackSettled(id);
    expect(edit.callback).toMatchObject({ status: 'delivered', attempts: 2 });
    const [first, second] = receiver.callsTo('/slow-down');
    const gap = second!.at - first!.at;
    expect(gap).toBeGreaterThanOrEqual(950);
    expect(gap).toBeLessThan(5_000);
  });

  it('times out on a receiver that never answers, then retries; a pending callback cannot be redelivered', async () => {
    receiver.script('/silent', 'hang', 200);
    const id = await postWithCallback('/silent');
    await eventually(() => (receiver.callsTo('/silent').length === 1 ? true : undefined), 10_000, 'the first attempt');
    const busy = await redeliver(id);
    expect(busy.statusCode).toBe(409);
    expect(busy.json()).toMatchObject({ code: 'CALLBACK_NOT_REDELIVERABLE', details: { status: 'pending' } });

    const edit = await callbackSettled(id);
    expect(edit.callback).toMatchObject({ status: 'delivered', attempts: 2, lastError: 'timed out after 1000 ms' });
    const [timedOut, answered] = await attemptsOf(id);
    expect(timedOut).toMatchObject({ statusCode: null, error: 'timed out after 1000 ms' });
    expect(timedOut!.durationMs).toBeGreaterThanOrEqual(950);
    expect(timedOut!.durationMs).toBeLessThan(3_000);
    expect(answered).toMatchObject({ statusCode: 200, error: null });
    const ids = receiver.callsTo('/silent').map((c) => c.headers['webhook-id']);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
  });

  it('fails after every attempt of the schedule fails, and is sent again, same event, on redeliver', async () => {
    receiver.script('/down', { status: 500, body: 'down for maintenance' });
    const id = await postWithCallback('/down');
    const failed = await callbackSettled(id, t, 25_000);
    expect(failed.callback).toEqual({ status: 'failed', attempts: 10, lastError: 'HTTP 500: down for maintenance', deliveredAt: null });
    expect(receiver.callsTo('/down')).toHaveLength(10);

    receiver.script('/down', 200);
    const res = await redeliver(id);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ id, status: 'completed', callback: { status: expect.stringMatching(/^(pending|delivered)$/) } });
    const delivered = await callbackSettled(id);
    expect(delivered.callback).toMatchObject({ status: 'delivered', attempts: 11, deliveredAt: expect.any(String) });

    const calls = receiver.callsTo('/down');
    expect(calls).toHaveLength(11);
    expect(new Set(calls.map((c) => c.headers['webhook-id'])).size).toBe(1);
    expect(verified(calls[10]!).timestamp).toBe(verified(calls[0]!).timestamp);
    const attempts = await attemptsOf(id);
    expect(attempts.filter((a) => a.series === 1)).toHaveLength(10);
    expect(attempts.filter((a) => a.series === 2).map((a) => [a.attempt, a.statusCode])).toEqual([[1, 200]]);

    // A delivered callback can be sent again too.
    expect((await redeliver(id)).statusCode).toBe(202);
    await eventually(() => (receiver.callsTo('/down').length === 12 ? true : undefined), 10_000, 'the second redelivery');
    expect((await callbackSettled(id)).callback).toMatchObject({ status: 'delivered', attempts: 12 });
  });

  it('does not follow a redirect, and reads only the start of a large answer', async () => {
    receiver.script('/moved', { status: 302, headers: { location: `${receiver.url}/elsewhere` } }, 200);
    receiver.script('/verbose', { status: 500, body: 'x'.repeat(1_000_000) }, 200);
    const moved = await postWithCallback('/moved');
    const verbose = await postWithCallback('/verbose');
    expect((await callbackSettled(moved)).callback).toMatchObject({
      status: 'delivered',
      attempts: 2,
      lastError: `HTTP 302: redirects are not followed (Location: ${receiver.url}/elsewhere)`,
    });
    expect(receiver.callsTo('/elsewhere')).toHaveLength(0);
    const { callback } = await callbackSettled(verbose);
    expect(callback).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(callback.lastError).toBe(`HTTP 500: ${'x'.repeat(200)}`);
  });

  it('has nothing to redeliver for an edit without a callbackUrl, and 404 for an unknown edit', async () => {
    const id = (await post(t, { input })).json().id;
    const edit = await getEdit(id);
    expect(edit.callback).toEqual({ status: 'none', attempts: 0, lastError: null, deliveredAt: null });
    const res = await redeliver(id);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'CALLBACK_NOT_REDELIVERABLE', details: { status: 'none' } });
    const unknown = await redeliver('00000000-0000-4000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('EDIT_NOT_FOUND');
  });
});

describe('redeliver', () => {
  const COOLDOWN_MS = 4_000;
  let cool: TestRelay;
  beforeAll(async () => {
    cool = await startTestRelay(simUrl, { ...RECEIVER_ENV, CALLBACK_REDELIVER_COOLDOWN_MS: String(COOLDOWN_MS) });
  });
  afterAll(() => cool?.stop());

  it('accepts one redeliver per edit within the cooldown; the others answer 429 REDELIVER_TOO_SOON and store nothing', async () => {
    const id = await postWithCallback('/cooldown', cool);
    expect((await callbackSettled(id, cool)).callback).toMatchObject({ status: 'delivered', attempts: 1 });

    const burst = await Promise.all(Array.from({ length: 30 }, () => redeliver(id, cool)));
    expect(burst.filter((r) => r.statusCode === 202)).toHaveLength(1);
    const refused = burst.filter((r) => r.statusCode !== 202);
    for (const res of refused) {
      expect(res.statusCode).toBe(429);
      expect(res.json()).toMatchObject({ code: 'REDELIVER_TOO_SOON', details: { retryAfterSeconds: expect.any(Number) } });
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(COOLDOWN_MS / 1000);
    }

    // Delivered again, and still within the cooldown: a redeliver that would now be possible is refused too.
    expect((await callbackSettled(id, cool)).callback).toMatchObject({ status: 'delivered', attempts: 2 });
    const again = await redeliver(id, cool);
    expect(again.statusCode).toBe(429);
    expect(again.json().code).toBe('REDELIVER_TOO_SOON');

    const attempts = await attemptsOf(id, cool);
    expect(attempts.map((a) => [a.series, a.attempt])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    expect(receiver.callsTo('/cooldown')).toHaveLength(2);

    // The cooldown passes: the next redeliver is a new series.
    await sleep(Number(again.headers['retry-after']) * 1000);
    expect((await redeliver(id, cool)).statusCode).toBe(202);
    expect((await callbackSettled(id, cool)).callback).toMatchObject({ status: 'delivered', attempts: 3 });
    expect((await attemptsOf(id, cool)).map((a) => a.series)).toEqual([1, 2, 3]);
  });
});

describe('callbackUrl safety', () => {
  let strict: TestRelay;
  let off: TestRelay;
  beforeAll(async () => {
    // Defaults: https only, no private addresses. API only: nothing here is ever sent.
    [strict, off] = await Promise.all([startTestRelay(simUrl, { ROLE: 'api' }), startTestRelay(simUrl, { ROLE: 'api', CALLBACK_SIGNING_SECRET: '' })]);
  });
  afterAll(async () => {
    await Promise.all([strict?.stop(), off?.stop()]);
  });

  it.each([
    ['plain http', 'http://hooks.example.com/pixelrelay'],
    ['a loopback address', 'https://127.0.0.1/hook'],
    ['a private address', 'https://10.1.2.3/hook'],
    ['the cloud metadata address', 'https://169.254.169.254/latest/meta-data/'],
    ['a name that resolves to loopback', 'https://localhost:8443/hook'],
    ['IPv6 loopback', 'https://[::1]/hook'],
    ['IPv4-mapped IPv6 loopback', 'https://[::ffff:127.0.0.1]/hook'],
    ['a decimal-encoded loopback', 'https://2130706433/hook'],
  ])('refuses %s with 400 INVALID_CALLBACK_URL and stores nothing', async (_what, callbackUrl) => {
    const before = await strict.db.edit.count();
    const res = await post(strict, { input, callbackUrl });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_CALLBACK_URL', details: [{ path: 'callbackUrl', message: expect.any(String) }] });
    expect(await strict.db.edit.count()).toBe(before);
  });

  it('accepts a public https URL', async () => {
    // Whether or not this machine can resolve it: a name that does not resolve is judged again at each attempt.
    const res = await post(strict, { input, callbackUrl: 'https://hooks.example.com/pixelrelay' });
    expect(res.statusCode).toBe(202);
  });

  it('is checked again at every attempt: a name that now resolves to a private address is refused and retried', async () => {
    const res = await post(strict, { input, callbackUrl: 'https://rebinding.example.com/hook' });
    expect(res.statusCode).toBe(202);
    const id = res.json().id;
    await strict.edits.move(id, 'cancelled', { cause: 'test', data: { completedAt: new Date() } });
    const deliveries = strict.deliveries;
    const delivery = await deliveries.findByEdit(id);
    expect(delivery).toMatchObject({ type: 'edit.cancelled', status: 'pending', attempts: 0 });

    const redis = createRedis(strict.config.REDIS_URL, 'worker');
    const slots = new RedisCallbackSlots(redis, strict.config.QUEUE_PREFIX, { perClient: 1, perOrigin: 1 });
    const decision = await deliverCallback(delivery!.id, {
      deliveries,
      slots,
      logger: pino({ level: 'silent' }),
      signingSecret: TEST_CALLBACK_SECRET,
      timeoutMs: 1_000,
      retryScale: 1,
      policy: { allowHttp: false, allowPrivate: false },
      resolve: async () => [{ address: '10.0.0.8', family: 4 }],
    }).finally(() => redis.quit());
    expect(decision).toMatchObject({ kind: 'retry', delayMs: expect.any(Number) });
    expect((decision as { delayMs: number }).delayMs).toBeGreaterThan(4_000);
    const error = 'refused: callbackUrl rebinding.example.com resolves to a private address';
    expect(await deliveries.findById(delivery!.id)).toMatchObject({ status: 'pending', attempts: 1, lastError: error });
    expect(await deliveries.attempts(delivery!.id)).toMatchObject([{ series: 1, attempt: 1, statusCode: null, error }]);
  });

  it('refuses any callbackUrl with 400 CALLBACKS_DISABLED when no signing secret is configured', async () => {
    const res = await post(off, { input, callbackUrl: 'https://hooks.example.com/pixelrelay' });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('CALLBACKS_DISABLED');
    expect(await off.db.edit.count()).toBe(0);
    expect((await post(off, { input })).statusCode).toBe(202);
  });
});

describe('a callback whose worker is down', () => {
  let sim2: Simulator;
  let sim2Url: string;
  let api: TestRelay;
  let stopApi: () => Promise<void>;
  beforeAll(async () => {
    ({
      sim: sim2,
      simUrl: sim2Url,
      t: api,
      stop: stopApi,
    } = await startRelayWithSimulator({ ...RECEIVER_ENV, ROLE: 'api' }, { pendingMs: 50, processingMs: 100 }));
    // The webhook is posted by the test, after the worker is gone.
    sim2.configure({ webhook: 'drop' });
  });
  afterAll(() => stopApi?.());

  it('is delivered once it comes back, even when the crash lost its queue entry', async () => {
    const workerEnv = { ...RECEIVER_ENV, ROLE: 'worker', PUBLIC_BASE_URL: api.config.PUBLIC_BASE_URL, RECONCILE_GRACE_MS: '600000' };
    const submitter = await startTestRelay(sim2Url, workerEnv, { share: api });
    const queued = await postWithCallback('/after-outage/queued', api);
    const lost = await postWithCallback('/after-outage/lost', api);
    const jobIds = await Promise.all(
      [queued, lost].map((id) =>
        eventually(
          async () => {
            const jobId = (await getEdit(id, api)).upstream.jobId;
            return jobId && sim2.jobs.get(jobId)?.status === 'completed' ? (jobId as string) : undefined;
          },
          10_000,
          `${id} to be done at PixelByte`,
        ),
      ),
    );
    await submitter.stop(); // no worker runs from here on

    for (const [i, id] of [queued, lost].entries()) {
      const webhook = signedWebhook(completedPayload(jobIds[i]!));
      const res = await api.relay.app!.inject({ method: 'POST', url: webhookPath(api.config, id), headers: webhook.headers, body: webhook.body });
      expect(res.statusCode).toBe(200);
      expect(await getEdit(id, api)).toMatchObject({ status: 'completed', callback: { status: 'pending', attempts: 0 } });
    }

    // The API enqueued both; take the second's job away, as a crash between commit and enqueue would.
    const redis = createRedis(api.config.REDIS_URL, 'worker');
    const queues = createQueues(redis, api.config.QUEUE_PREFIX);
    try {
      const deliveryOf = async (editId: string) => (await api.db.callbackDelivery.findFirstOrThrow({ where: { editId } })).id;
      await eventually(async () => (await queues.callback.getJob(await deliveryOf(queued))) ?? undefined, 5_000, 'the enqueue');
      const lostJob = await eventually(async () => (await queues.callback.getJob(await deliveryOf(lost))) ?? undefined, 5_000, 'the enqueue');
      await lostJob.remove();
    } finally {
      await queues.close();
      await redis.quit();
    }
    await sleep(700);
    expect(receiver.received.filter((r) => r.path.startsWith('/after-outage/'))).toHaveLength(0);

    const worker = await startTestRelay(sim2Url, workerEnv, { share: api });
    try {
      for (const id of [queued, lost]) {
        const edit = await callbackSettled(id, api);
        expect(edit.callback).toMatchObject({ status: 'delivered', attempts: 1 });
      }
      for (const path of ['/after-outage/queued', '/after-outage/lost']) {
        const calls = receiver.callsTo(path);
        expect(calls).toHaveLength(1);
        expect(verified(calls[0]!)).toMatchObject({ type: 'edit.completed', data: { status: 'completed', metadata: { path } } });
      }
      expect(worker.logs.text()).toContain('requeued a callback that had no live queue entry');
    } finally {
      await worker.stop();
    }
  });
});
