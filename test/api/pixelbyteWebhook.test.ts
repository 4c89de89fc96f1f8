import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { eventually, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';
import { completedPayload, signedWebhook, webhookPath } from '../helpers/webhooks.js';

let sim: Simulator;
let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ sim, t, stop } = await startRelayWithSimulator({}, { pendingMs: 50, processingMs: 100 }));
});
afterAll(() => stop?.());
beforeEach(() => {
  // These tests deliver webhooks themselves; the simulator's own would race them.
  sim.configure({ webhook: 'drop' });
});

const inject = (req: InjectOptions) => t.relay.app!.inject(req);

async function getEdit(id: string) {
  return (await inject({ method: 'GET', url: `/v1/edits/${id}?include=history`, headers: t.auth })).json();
}

/** An edit PixelByte has finished, whose webhook has not arrived. */
async function finishedUpstreamEdit(numImages = 2) {
  const res = await inject({
    method: 'POST',
    url: '/v1/edits',
    headers: t.auth,
    payload: { input: { prompt: 'webhook test', image_urls: ['https://example.com/a.jpg'], num_images: numImages, size: '1K' } },
  });
  const id = res.json().id as string;
  const jobId = await eventually(async () => (await getEdit(id)).upstream.jobId ?? undefined, 10_000, 'the submit');
  await eventually(() => (sim.jobs.get(jobId)?.status === 'completed' ? true : undefined), 10_000, 'the upstream job to finish');
  return { id, jobId };
}

function postWebhook(editId: string, webhook: { body: string; headers: Record<string, string> }) {
  return inject({ method: 'POST', url: webhookPath(t.config, editId), headers: webhook.headers, body: webhook.body });
}

describe('POST /webhooks/pixelbyte/:token/:editId', () => {
  it('applies a valid completed webhook with every output listed upstream, and stores it', async () => {
    const { id, jobId } = await finishedUpstreamEdit(2);
    const res = await postWebhook(id, signedWebhook(completedPayload(jobId)));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: true, duplicate: false, applied: true });
    const edit = await getEdit(id);
    expect(edit.status).toBe('completed');
    expect(edit.outputs).toHaveLength(2);
    expect(edit.outputs[0]).toMatchObject({ type: 'image', width: 1024, height: 1024, format: 'png' });
    expect(await t.db.webhookEvent.count({ where: { editId: id } })).toBe(1);
  });

  it('takes the outputs of an edit that asked for one image from its webhook, asking PixelByte only for an edit of several', async () => {
    const gets = (jobId: string) => sim.calls.filter((c) => c.method === 'GET' && c.path === `/v1/jobs/${jobId}`).length;
    const one = await finishedUpstreamEdit(1);
    const res = await postWebhook(one.id, signedWebhook(completedPayload(one.jobId, `https://cdn.example.com/${one.jobId}-only.png`)));
    expect(res.json()).toEqual({ received: true, duplicate: false, applied: true });
    expect((await getEdit(one.id)).outputs).toEqual([
      { url: `https://cdn.example.com/${one.jobId}-only.png`, type: 'image', width: 1024, height: 1024, format: 'png' },
    ]);
    expect(gets(one.jobId)).toBe(0);

    const two = await finishedUpstreamEdit(2);
    await postWebhook(two.id, signedWebhook(completedPayload(two.jobId)));
    expect((await getEdit(two.id)).outputs).toHaveLength(2);
    expect(gets(two.jobId)).toBe(1);
  });

  it.each([
    [
      'a wrong signature',
      (w: ReturnType<typeof signedWebhook>) => ({ ...w, headers: { ...w.headers, 'x-pixelbyte-signature': `sha256=${'0'.repeat(64)}` } }),
      'SIGNATURE_MISMATCH',
    ],
    ['a wrong secret', (_w: ReturnType<typeof signedWebhook>, p: object) => signedWebhook(p, { secret: 'whsec_someone_else' }), 'SIGNATURE_MISMATCH'],
    ['missing headers', (w: ReturnType<typeof signedWebhook>) => ({ ...w, headers: { 'content-type': 'application/json' } }), 'MISSING_SIGNATURE'],
    [
      'a stale timestamp',
      (_w: ReturnType<typeof signedWebhook>, p: object) => signedWebhook(p, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
      'STALE_TIMESTAMP',
    ],
    ['a tampered body', (w: ReturnType<typeof signedWebhook>) => ({ ...w, body: w.body.replace('"completed"', '"failed"') }), 'SIGNATURE_MISMATCH'],
  ])('rejects %s with 401 INVALID_SIGNATURE and changes nothing', async (_name, mutate, reason) => {
    const { id, jobId } = await finishedUpstreamEdit(1);
    const before = await getEdit(id);
    const payload = completedPayload(jobId);
    const res = await postWebhook(id, mutate(signedWebhook(payload), payload));
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ statusCode: 401, code: 'INVALID_SIGNATURE', details: { reason } });
    expect(await getEdit(id)).toEqual(before);
    expect(await t.db.webhookEvent.count({ where: { editId: id } })).toBe(0);
  });

  it('answers a repeated webhook 2xx and changes nothing', async () => {
    const { id, jobId } = await finishedUpstreamEdit(1);
    const webhook = signedWebhook(completedPayload(jobId));
    expect((await postWebhook(id, webhook)).json()).toMatchObject({ duplicate: false, applied: true });
    const after = await getEdit(id);
    for (let i = 0; i < 3; i++) {
      const again = await postWebhook(id, signedWebhook(completedPayload(jobId)));
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual({ received: true, duplicate: true, applied: false });
    }
    expect(await getEdit(id)).toEqual(after);
    expect(await t.db.webhookEvent.count({ where: { editId: id } })).toBe(1);
  });

  it('surfaces the code and message of a failed webhook', async () => {
    const { id, jobId } = await finishedUpstreamEdit(1);
    const res = await postWebhook(
      id,
      signedWebhook({
        jobId,
        requestId: 'req_1',
        status: 'failed',
        error: { code: 'CONTENT_POLICY_VIOLATION', message: 'The prompt was refused' },
        completedAt: new Date().toISOString(),
      }),
    );
    expect(res.statusCode).toBe(200);
    const edit = await getEdit(id);
    expect(edit.status).toBe('failed');
    expect(edit.error).toEqual({ code: 'CONTENT_POLICY_VIOLATION', message: 'The prompt was refused' });
    expect(edit.history.at(-1)).toMatchObject({ from: 'submitted', to: 'failed', upstreamCode: 'CONTENT_POLICY_VIOLATION' });
  });

  it('answers 404 EDIT_NOT_FOUND for an unknown edit, after checking the signature', async () => {
    const unknown = randomUUID();
    const res = await postWebhook(unknown, signedWebhook(completedPayload('job_nobody')));
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'EDIT_NOT_FOUND' });
    const unsigned = await inject({ method: 'POST', url: webhookPath(t.config, unknown), headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(unsigned.statusCode).toBe(401);
  });

  it('rejects a signed body that is not a PixelByte webhook with 400', async () => {
    const { id } = await finishedUpstreamEdit(1);
    const res = await postWebhook(id, signedWebhook({ hello: 'world' }));
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('INVALID_INPUT');
  });

  it('answers 503 and stores nothing when the outputs cannot be read upstream yet, so PixelByte delivers again', async () => {
    const { id } = await finishedUpstreamEdit(1);
    const edit = await t.db.edit.findUniqueOrThrow({ where: { id } });
    // A job PixelByte does not know: its GET answers 404, so the outputs can't be listed.
    const res = await postWebhook(id, signedWebhook(completedPayload(edit.upstreamJobId!.replace('job_', 'job_x'))));
    expect(res.statusCode).toBe(200); // a job this edit never adopted: stored, ignored
    expect((await getEdit(id)).status).toBe('submitted');

    // An edit whose submit is unanswered, so it may adopt the job a webhook names.
    // It asked for two images, so the one the webhook names is not all of them.
    const orphan = await t.edits.create({ id: randomUUID(), model: edit.model, input: {}, clientId: t.clientId, estimatedCostMicroCents: 1, imagesOrdered: 2 });
    await t.edits.beginSubmitAttempt(orphan.id, 1, 'submit attempt 1');
    const lost = await postWebhook(orphan.id, signedWebhook(completedPayload('job_unknown_upstream')));
    expect(lost.statusCode).toBe(503);
    expect(lost.json().code).toBe('UPSTREAM_UNAVAILABLE');
    expect(await t.db.webhookEvent.count({ where: { editId: orphan.id } })).toBe(0);
  });
});

describe('a webhook that arrives before the submit response', () => {
  it('is applied, and the late submit response fills in the facts without moving the edit back', async () => {
    sim.configure({ webhook: 'deliver' });
    sim.nextSubmit({ kind: 'early-webhook' });
    const res = await inject({
      method: 'POST',
      url: '/v1/edits',
      headers: t.auth,
      payload: { input: { prompt: 'early', image_urls: ['https://example.com/a.jpg'], num_images: '2' } },
    });
    const id = res.json().id;
    const edit = await eventually(
      async () => {
        const e = await getEdit(id);
        return e.status === 'completed' && e.upstream.requestId ? e : undefined;
      },
      10_000,
      'completion and the late submit response',
    );
    expect(edit.outputs).toHaveLength(2);
    expect(edit.costMicroCents).toBe(90_000);
    expect(edit.submittedAt).toEqual(expect.any(String));
    expect(edit.history.map((h: { from: string; to: string }) => `${h.from}->${h.to}`)).toEqual([
      'null->queued',
      'queued->submitting',
      'submitting->completed',
    ]);
    expect(sim.calls.filter((c) => c.path === '/v1/jobs/submit' && (c.body as { webhookUrl?: string })?.webhookUrl?.endsWith(id))).toHaveLength(1);
  });
});
