import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { eventually, SIM_API_KEY, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';
import { webhookPath } from '../helpers/webhooks.js';

let sim: Simulator;
let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ sim, t, stop } = await startRelayWithSimulator({}, { pendingMs: 100, processingMs: 200, webhookRetryDelaysMs: [100, 200, 400] }));
});
afterAll(() => stop?.());

async function postEdit(body: unknown) {
  return t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: body as object });
}

async function getEdit(id: string, query = '') {
  const res = await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}${query}`, headers: t.auth });
  return { status: res.statusCode, body: res.json() };
}

describe('an edit, end to end', () => {
  it('is accepted, queued, submitted once, completed by the webhook with every output and the cost', async () => {
    const body = {
      input: { prompt: 'Replace the background with a beach at sunset', image_urls: ['https://example.com/a.jpg', 'https://example.com/b.png'], num_images: 3 },
      callbackUrl: 'https://client.example.com/hooks/pixelrelay',
      metadata: { orderId: 'o-1' },
    };
    const res = await postEdit(body);
    expect(res.statusCode).toBe(202);
    const accepted = res.json();
    expect(res.headers.location).toBe(`/v1/edits/${accepted.id}`);
    expect(accepted).toMatchObject({
      status: 'queued',
      model: 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image',
      input: { prompt: body.input.prompt, image_urls: body.input.image_urls, size: '2K', num_images: '3' },
      callbackUrl: body.callbackUrl,
      metadata: { orderId: 'o-1' },
      upstream: { jobId: null, requestId: null, status: null },
      estimatedCostMicroCents: 135_000,
      costMicroCents: null,
      outputs: [],
      error: null,
      submittedAt: null,
      completedAt: null,
    });

    const done = await eventually(
      async () => {
        const { body } = await getEdit(accepted.id);
        return body.status === 'completed' ? body : undefined;
      },
      15_000,
      'the edit to complete',
    );

    const submits = sim.calls.filter((c) => c.method === 'POST' && c.path === '/v1/jobs/submit');
    expect(submits).toHaveLength(1);
    const submit = submits[0]!;
    expect(submit.headers.authorization).toBe(`Bearer ${SIM_API_KEY}`);
    expect(submit.body).toEqual({
      model: 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image',
      input: { prompt: body.input.prompt, image_urls: body.input.image_urls, size: '2K', num_images: '3' },
      webhookUrl: `${t.config.PUBLIC_BASE_URL}${webhookPath(t.config, accepted.id)}`,
    });

    const job = sim.jobs.get(done.upstream.jobId)!;
    expect(job).toBeDefined();
    expect(done.upstream).toEqual({ jobId: expect.stringMatching(/^job_/), requestId: expect.stringMatching(/^req_/), status: 'completed' });
    expect(done.costMicroCents).toBe(135_000);
    expect(done.outputs).toHaveLength(3);
    for (const output of done.outputs) {
      expect(output).toMatchObject({ url: expect.stringMatching(/^http/), type: 'image', width: 2048, height: 2048, format: 'png' });
    }
    expect(new Set(done.outputs.map((o: { url: string }) => o.url)).size).toBe(3);
    expect(done.estimatedCompletionAt).toEqual(expect.any(String));
    expect(Date.parse(done.submittedAt)).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
    expect(Date.parse(done.completedAt)).toBeGreaterThanOrEqual(Date.parse(done.submittedAt));
    expect(done.error).toBeNull();

    const history = (await getEdit(accepted.id, '?include=history')).body.history.map((h: { from: string; to: string }) => `${h.from}->${h.to}`);
    expect(history).toEqual(['null->queued', 'queued->submitting', 'submitting->submitted', 'submitted->completed']);

    const stored = await t.db.webhookEvent.findMany({ where: { editId: accepted.id } });
    expect(stored).toHaveLength(1);
    expect(JSON.parse(stored[0]!.rawBody)).toMatchObject({ jobId: done.upstream.jobId, status: 'completed' });
  });

  it('surfaces a generation failure with PixelByte’s code', async () => {
    sim.nextSubmit({ kind: 'generation-failure' });
    const res = await postEdit({ input: { prompt: 'make it fail', image_urls: ['https://example.com/a.jpg'] } });
    const failed = await eventually(
      async () => {
        const { body } = await getEdit(res.json().id);
        return body.status === 'failed' ? body : undefined;
      },
      15_000,
      'the edit to fail',
    );
    expect(failed.error).toEqual({ code: 'GENERATION_FAILED', message: expect.any(String) });
    expect(failed.outputs).toEqual([]);
    expect(failed.completedAt).toEqual(expect.any(String));
  });

  it('answers 404 EDIT_NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      const { status, body } = await getEdit(id);
      expect(status).toBe(404);
      expect(body).toMatchObject({ statusCode: 404, code: 'EDIT_NOT_FOUND', error: 'Not Found' });
    }
  });

  it('lists edits newest first with a cursor and a status filter', async () => {
    sim.configure({ webhook: 'drop' });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await postEdit({ input: { prompt: `list ${i}`, image_urls: ['https://example.com/a.jpg'] } })).json().id);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { statusCode: number; json(): { edits: { id: string }[]; nextCursor: string | null } } = await t.relay.app!.inject({
          method: 'GET',
          url: `/v1/edits?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          headers: t.auth,
        });
        expect(res.statusCode).toBe(200);
        const page = res.json();
        expect(page.edits.length).toBeLessThanOrEqual(2);
        seen.push(...page.edits.map((e: { id: string }) => e.id));
        cursor = page.nextCursor;
      } while (cursor && seen.length < 50);
      // The five just created come first, newest first, each once.
      expect(seen.slice(0, 5)).toEqual([...ids].reverse());
      expect(new Set(seen).size).toBe(seen.length);

      const completed = await t.relay.app!.inject({ method: 'GET', url: '/v1/edits?status=completed&limit=100', headers: t.auth });
      expect(completed.json().edits.every((e: { status: string }) => e.status === 'completed')).toBe(true);
      expect(completed.json().edits.length).toBeGreaterThanOrEqual(1);

      for (const bad of ['status=done', 'limit=0', 'limit=101', 'cursor=bogus', 'colour=red']) {
        const res = await t.relay.app!.inject({ method: 'GET', url: `/v1/edits?${bad}`, headers: t.auth });
        expect(res.statusCode, bad).toBe(400);
        expect(res.json().code, bad).toBe('INVALID_INPUT');
      }
    } finally {
      sim.configure({ webhook: 'deliver' });
    }
  });

  it('reports readiness of Postgres and Redis', async () => {
    const health = await t.relay.app!.inject({ method: 'GET', url: '/healthz' });
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await t.relay.app!.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  });
});
