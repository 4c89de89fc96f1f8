import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedDelivery, Simulator } from '../../simulator/index.js';
import type { EditQueues } from '../../src/queue/queues.js';
import { fetchEdit, settledEdit } from '../helpers/edits.js';
import { eventually, queuesOf, SIM_API_KEY, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';
import { completedPayload, signedWebhook, webhookPath } from '../helpers/webhooks.js';

/*
 * PixelByte signs a webhook's body, not its URL. Whoever holds one genuinely signed webhook (a log, a proxy,
 * a misrouted retry) can send it, within its 300 s, to any edit's address. These tests are that attacker,
 * over real HTTP: each replay must leave the target edit as it was, answer no 5xx, and the target must
 * still complete later with its own job.
 */

const MODEL = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';
const input = { prompt: 'replay target', image_urls: ['https://example.com/a.jpg'], size: '1K' };

let sim: Simulator;
let simUrl: string;
let t: TestRelay;
let stop: () => Promise<void>;
let queues: EditQueues;

beforeAll(async () => {
  ({ sim, simUrl, t, stop } = await startRelayWithSimulator({ SUBMIT_FENCE_GRACE_MS: '1000' }, { pendingMs: 50, processingMs: 150 }));
  queues = queuesOf(t);
});
afterAll(async () => {
  await queues?.close();
  await stop?.();
});
afterEach(async () => {
  await queues.submit.resume();
  sim.configure({ webhook: 'deliver' });
});

type Webhook = { body: string; headers: Record<string, string> };

/** A POST to the relay's real port, as anyone on the internet can make it. */
async function send(path: string, webhook: Webhook) {
  const res = await fetch(`${t.relay.url}${path}`, { method: 'POST', headers: webhook.headers, body: webhook.body });
  return { status: res.status, body: (await res.json()) as { code?: string; applied?: boolean } };
}

/** The exact bytes and headers PixelByte sent for a job, as an eavesdropper would have kept them. */
function captured(delivery: RecordedDelivery): Webhook {
  return {
    body: delivery.rawBody,
    headers: { 'content-type': 'application/json', 'x-pixelbyte-timestamp': delivery.timestamp, 'x-pixelbyte-signature': delivery.signature },
  };
}

/** Edit A, completed the ordinary way; its webhook was delivered and captured. */
async function completedEditWithItsWebhook() {
  const id = (await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { input: { ...input, prompt: 'edit A' } } })).json()
    .id as string;
  const edit = await settledEdit(t, id);
  expect(edit.status).toBe('completed');
  const delivery = await eventually(() => sim.deliveries.find((d) => d.jobId === edit.upstream.jobId && d.status === 200), 5_000, "A's webhook");
  return { id, jobId: edit.upstream.jobId as string, outputs: edit.outputs as { url: string }[], delivery };
}

/** A new edit no worker will touch until the queue is resumed: it stays `queued`. */
async function heldEdit(prompt = 'edit B') {
  await queues.submit.pause();
  const id = (await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { input: { ...input, prompt } } })).json().id as string;
  return id;
}

/** A held edit whose submit left and is not answered yet (`submitting`, attempt in flight): the state a worker dies in. */
async function submittingEdit(prompt?: string) {
  const id = await heldEdit(prompt);
  const attempt = await t.edits.beginSubmitAttempt(id, 1, 'submit attempt 1');
  expect(attempt).toMatchObject({ outcome: 'in_flight' });
  return { id, attemptId: (attempt as { id: bigint }).id };
}

/** A submit straight to PixelByte with our key, as another client of the account (or an older pixelrelay) makes it. */
async function submitToPixelByte(webhookUrl?: string): Promise<string> {
  const res = await fetch(`${simUrl}/v1/jobs/submit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SIM_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, input: { ...input, num_images: '1' }, ...(webhookUrl ? { webhookUrl } : {}) }),
  });
  return ((await res.json()) as { jobId: string }).jobId;
}

/** A job PixelByte finished for someone, which no edit adopted, and a genuinely signed webhook for it. */
async function unadoptedJob(status: 'completed' | 'failed') {
  if (status === 'failed') sim.nextSubmit({ kind: 'generation-failure' });
  const jobId = await submitToPixelByte();
  await eventually(() => (sim.jobs.get(jobId)?.status === status ? true : undefined), 5_000, 'the job to finish');
  const payload =
    status === 'completed'
      ? completedPayload(jobId)
      : {
          jobId,
          requestId: 'req_other',
          status: 'failed',
          error: { code: 'GENERATION_FAILED', message: 'Someone else’s failure' },
          completedAt: new Date().toISOString(),
        };
  return { jobId, webhook: signedWebhook(payload) };
}

/** Everything a webhook could change about an edit. */
async function snapshot(id: string) {
  return {
    edit: await t.db.edit.findUniqueOrThrow({ where: { id } }),
    history: await t.db.editTransition.findMany({ where: { editId: id }, orderBy: { id: 'asc' } }),
    webhooks: await t.db.webhookEvent.count({ where: { editId: id } }),
  };
}

/** Lets the held edit go and checks it ends with a job of its own: the one PixelByte made for its submit. */
async function completesWithItsOwnJob(id: string, foreign: { jobId: string; outputs?: { url: string }[] }) {
  await queues.submit.resume();
  const edit = await settledEdit(t, id);
  expect(edit.status).toBe('completed');
  expect(edit.upstream.jobId).not.toBe(foreign.jobId);
  // PixelByte made it for a submit that carried this edit's webhook URL.
  const own = [...sim.jobs.values()].filter((j) => String(j.webhookUrl).endsWith(id)).map((j) => j.jobId);
  expect(own).toContain(edit.upstream.jobId);
  for (const output of foreign.outputs ?? []) expect(edit.outputs.map((o: { url: string }) => o.url)).not.toContain(output.url);
  return edit;
}

describe("edit A's signed webhook sent to edit B's address", () => {
  it("with A's token or none is refused 401 INVALID_WEBHOOK_TOKEN before anything is stored", async () => {
    const a = await completedEditWithItsWebhook();
    const b = await submittingEdit();
    const before = await snapshot(b.id);
    const aToken = new URL(a.delivery.url).pathname.split('/').at(-2)!;

    for (const path of [webhookPath(t.config, b.id, aToken), webhookPath(t.config, b.id, null)]) {
      const res = await send(path, captured(a.delivery));
      expect(res).toMatchObject({ status: 401, body: { code: 'INVALID_WEBHOOK_TOKEN' } });
    }
    expect(await snapshot(b.id)).toEqual(before);
    await completesWithItsOwnJob(b.id, a);
  });

  it("with B's own token (as if it had leaked) is still refused, 409 JOB_OF_ANOTHER_EDIT, never 500: A adopted that job", async () => {
    const a = await completedEditWithItsWebhook();
    const b = await submittingEdit();
    const before = await snapshot(b.id);
    const res = await send(webhookPath(t.config, b.id), captured(a.delivery));
    expect(res).toMatchObject({ status: 409, body: { code: 'JOB_OF_ANOTHER_EDIT' } });
    expect(await snapshot(b.id)).toEqual(before);
    expect((await fetchEdit(t, a.id)).status).toBe('completed');
    await completesWithItsOwnJob(b.id, a);
  });
});

describe('a signed webhook for a job no edit adopted, with a valid token for the target', () => {
  it.each(['completed', 'failed'] as const)('never touches a queued edit (%s): 409 EDIT_NOT_SUBMITTED, nothing stored', async (status) => {
    const other = await unadoptedJob(status);
    const b = await heldEdit();
    const before = await snapshot(b);
    expect(before.edit.status).toBe('queued');
    const res = await send(webhookPath(t.config, b), other.webhook);
    expect(res).toMatchObject({ status: 409, body: { code: 'EDIT_NOT_SUBMITTED' } });
    expect(await snapshot(b)).toEqual(before);
    await completesWithItsOwnJob(b, other);
  });

  it('is kept as evidence but never adopted by a submitting edit with no submit in flight', async () => {
    const other = await unadoptedJob('completed');
    const b = await submittingEdit();
    // The attempt never left (say, connection refused): PixelByte cannot have a job for it.
    await t.edits.finishSubmitAttempt(b.attemptId, { outcome: 'not_sent', upstreamCode: 'UPSTREAM_UNREACHABLE' });
    const before = await snapshot(b.id);
    const res = await send(webhookPath(t.config, b.id), other.webhook);
    expect(res).toMatchObject({ status: 200, body: { applied: false } });
    const after = await snapshot(b.id);
    expect({ ...after, webhooks: before.webhooks }).toEqual(before);
    expect(after.webhooks).toBe(before.webhooks + 1);
    await completesWithItsOwnJob(b.id, other);
  });
});

describe('a webhook for the edit’s own job at a wrong address', () => {
  it.each([
    ['no token', null],
    ['a wrong token', 'A'.repeat(43)],
    ['a truncated token', 'short'],
  ] as const)('with %s is refused 401 INVALID_WEBHOOK_TOKEN, and the real one still completes the edit', async (_name, token) => {
    sim.nextSubmit({ kind: 'drop-webhook' });
    const id = (await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { input } })).json().id as string;
    const jobId = await eventually(async () => (await fetchEdit(t, id)).upstream.jobId ?? undefined, 10_000, 'the submit');
    await eventually(() => (sim.jobs.get(jobId)?.status === 'completed' ? true : undefined), 5_000, 'the job');
    const before = await snapshot(id);

    const res = await send(webhookPath(t.config, id, token), signedWebhook(completedPayload(jobId)));
    expect(res).toMatchObject({ status: 401, body: { code: 'INVALID_WEBHOOK_TOKEN' } });
    expect(await snapshot(id)).toEqual(before);

    const real = await send(webhookPath(t.config, id), signedWebhook(completedPayload(jobId)));
    expect(real).toMatchObject({ status: 200, body: { applied: true } });
    expect((await fetchEdit(t, id)).status).toBe('completed');
  });
});

describe('two edits that may both adopt the same job', () => {
  it('let exactly one adopt it; the other gets 409, never 500', async () => {
    const other = await unadoptedJob('completed');
    const first = await submittingEdit('race 1');
    const second = await submittingEdit('race 2');
    const answers = await Promise.all([first, second].map((b) => send(webhookPath(t.config, b.id), other.webhook)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(answers.find((a) => a.status === 409)!.body.code).toBe('JOB_OF_ANOTHER_EDIT');
    expect(await t.db.edit.count({ where: { upstreamJobId: other.jobId } })).toBe(1);
    await queues.submit.resume();
  });
});

describe('edits submitted before webhook URLs carried a token', () => {
  /** An edit as an older pixelrelay left it: its submit went out with the tokenless URL and was accepted. */
  async function legacyEdit(options: { webhook: 'deliver' | 'drop' }) {
    const { id, attemptId } = await submittingEdit('legacy');
    await t.db.submitAttempt.update({ where: { id: attemptId }, data: { tokenizedWebhookUrl: false } });
    if (options.webhook === 'drop') sim.nextSubmit({ kind: 'drop-webhook' });
    const jobId = await submitToPixelByte(`${t.config.PUBLIC_BASE_URL}${webhookPath(t.config, id, null)}`);
    await t.edits.recordSubmitAccepted(
      attemptId,
      id,
      { upstreamJobId: jobId, submittedAt: new Date() },
      { cause: `PixelByte accepted job ${jobId}`, data: { upstreamStatus: 'pending' } },
    );
    return { id, jobId };
  }

  it('still complete from the tokenless webhook PixelByte sends them', async () => {
    const { id, jobId } = await legacyEdit({ webhook: 'deliver' });
    const edit = await settledEdit(t, id);
    expect(edit).toMatchObject({ status: 'completed', upstream: { jobId } });
    expect(sim.deliveries.find((d) => d.jobId === jobId)).toMatchObject({ status: 200, url: expect.stringMatching(new RegExp(`/webhooks/pixelbyte/${id}$`)) });
  });

  it('take no foreign job from a tokenless replay (stored, not applied), answer 409 for a job another edit adopted, never 500', async () => {
    const a = await completedEditWithItsWebhook();
    const other = await unadoptedJob('completed');
    const { id, jobId } = await legacyEdit({ webhook: 'drop' });
    await eventually(() => (sim.jobs.get(jobId)?.status === 'completed' ? true : undefined), 5_000, 'the legacy job');
    const before = await snapshot(id);

    expect(await send(webhookPath(t.config, id, null), captured(a.delivery))).toMatchObject({ status: 409, body: { code: 'JOB_OF_ANOTHER_EDIT' } });
    expect(await send(webhookPath(t.config, id, null), other.webhook)).toMatchObject({ status: 200, body: { applied: false } });
    const after = await snapshot(id);
    expect({ ...after, webhooks: before.webhooks }).toEqual(before);

    const own = await send(webhookPath(t.config, id, null), signedWebhook(completedPayload(jobId)));
    expect(own).toMatchObject({ status: 200, body: { applied: true } });
    expect(await fetchEdit(t, id)).toMatchObject({ status: 'completed', upstream: { jobId } });
  });
});
