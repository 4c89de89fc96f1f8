import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEY, PRO, proInput, type Running, startSimulator } from './helpers.js';

let s: Running;
// Most tests here look at jobs before they finish: a long pending phase keeps them pending on a loaded machine.
beforeEach(async () => {
  s = await startSimulator({ apiKeys: [KEY, 'pb_other_key'], pendingMs: 5_000 });
});
afterEach(async () => {
  await s.sim.close();
});

describe('POST /v1/jobs/submit', () => {
  it('accepts a job, charges 45000 µ¢ per image, and runs it pending → processing → completed', async () => {
    await s.sim.close();
    // Long enough phases that a loaded machine still sees each state.
    s = await startSimulator({ pendingMs: 400, processingMs: 400 });
    const before = Date.now();
    const res = await s.submit({ model: PRO, input: proInput() });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'pending', costMicroCents: 45_000 });
    expect(res.body.jobId).toMatch(/^job_[\w-]+$/);
    expect(res.body.requestId).toMatch(/^req_[\w-]+$/);
    expect(Date.parse(res.body.estimatedCompletionTime)).toBeGreaterThanOrEqual(before + 800 - 5);

    const pending = await s.api('GET', `/v1/jobs/${res.body.jobId}`);
    expect(pending.body).toMatchObject({ status: 'pending', progress: 0, output: null, outputs: [], error: null, completedAt: null });

    await s.sim.waitFor(() => s.sim.jobs.get(res.body.jobId)?.status === 'processing');
    expect((await s.api('GET', `/v1/jobs/${res.body.jobId}`)).body).toMatchObject({ status: 'processing', progress: 50 });

    await s.sim.waitFor(() => s.sim.jobs.get(res.body.jobId)?.status === 'completed');
    const done = await s.api('GET', `/v1/jobs/${res.body.jobId}`);
    expect(done.body).toMatchObject({ status: 'completed', progress: 100, error: null });
    expect(done.body.outputs).toHaveLength(1);
    expect(done.body.output).toBe(done.body.outputs[0].url);
    expect(done.body.outputs[0]).toMatchObject({ type: 'image', posterImage: null });
    expect(Date.parse(done.body.completedAt)).toBeGreaterThan(Date.parse(done.body.createdAt));

    const png = await fetch(done.body.output);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect([...new Uint8Array(await png.arrayBuffer()).slice(1, 4)]).toEqual([0x50, 0x4e, 0x47]);

    expect(s.sim.stats()).toMatchObject({ submits: 1, jobsCreated: 1, unfinished: 0, maxUnfinished: 1, chargedMicroCents: 45_000 });
  });

  it('num_images "3" costs 135000 µ¢ and yields 3 outputs', async () => {
    await s.sim.close();
    s = await startSimulator();
    const res = await s.submit({ model: PRO, input: proInput({ num_images: '3', size: '1K' }) });
    expect(res.body.costMicroCents).toBe(135_000);
    await s.sim.waitFor(() => s.sim.jobs.get(res.body.jobId)?.status === 'completed');
    const done = await s.api('GET', `/v1/jobs/${res.body.jobId}`);
    expect(done.body.outputs).toHaveLength(3);
    expect(new Set(done.body.outputs.map((o: { url: string }) => o.url)).size).toBe(3);
  });

  it.each([
    ['pixelbyte-plus/pixel-image-1.0/image-to-image', proInput({ num_images: '2' }), 60_000],
    ['alibaba-plus/wan-2.7/image-to-image', proInput(), 30_000],
    ['alibaba-plus/wan-2.7-pro/image-to-image', proInput({ num_images: '4' }), 180_000],
    ['bytedance-plus/seedream-v5-lite/image-to-image', proInput({ num_images: 2, aspect_ratio: '16:9' }), 70_000],
    ['google/nano-banana/edit-image', proInput(), 40_000],
    ['google/nano-banana/edit-image', proInput({ resolution: '4k' }), 80_000],
    ['google/nano-banana-pro/edit-image', proInput({ resolution: '4k' }), 241_200],
    ['openai/gpt-image-1.5/edit-image', { prompt: 'x', image_url: 'https://example.com/a.png' }, 34_000],
    ['openai/gpt-image-1-mini/edit-image', { prompt: 'x', image_url: 'https://example.com/a.png', aspect_ratio: '3:2' }, 11_000],
    ['runway/gen-4-turbo-image/edit-image', proInput({ aspect_ratio: '16:9', style: 'cinematic' }), 20_000],
  ])('prices %s', async (model, input, cost) => {
    const res = await s.submit({ model, input });
    expect(res.status).toBe(200);
    expect(res.body.costMicroCents).toBe(cost);
  });

  it('rejects a missing bearer token with 401 UNAUTHORIZED and an unknown key with 401 INVALID_API_KEY', async () => {
    const missing = await s.submit({ model: PRO, input: proInput() }, null);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
    expect(missing.body.requestId).toMatch(/^req_/);
    const wrong = await s.submit({ model: PRO, input: proInput() }, 'pb_nope');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('INVALID_API_KEY');
    expect((await s.api('GET', '/v1/jobs', undefined, null)).status).toBe(401);
    expect(s.sim.jobs.size).toBe(0);
  });

  it.each([
    ['empty prompt', { prompt: '' }, 'input.prompt'],
    ['prompt too long', { prompt: 'x'.repeat(5001) }, 'input.prompt'],
    ['no image_urls', { image_urls: [] }, 'input.image_urls'],
    ['5 image_urls', { image_urls: Array(5).fill('https://example.com/a.png') }, 'input.image_urls'],
    ['non-http image URL', { image_urls: ['ftp://example.com/a.png'] }, 'input.image_urls.0'],
    ['bad size', { size: '4K' }, 'input.size'],
    ['num_images as a number', { num_images: 3 }, 'input.num_images'],
    ['num_images "5"', { num_images: '5' }, 'input.num_images'],
    ['unknown field', { seed: 42 }, 'input'],
  ])('rejects %s with 400 INVALID_INPUT naming the field', async (_name, patch, path) => {
    const res = await s.submit({ model: PRO, input: proInput(patch) });
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    expect(s.sim.stats()).toMatchObject({ jobsCreated: 0, chargedMicroCents: 0 });
  });

  it('validates each model by its own schema', async () => {
    const gpt = await s.submit({ model: 'openai/gpt-image-1.5/edit-image', input: proInput() });
    expect(gpt.status).toBe(400);
    const paths = gpt.body.error.details.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['input.image_url', 'input']));
    const nano = await s.submit({ model: 'google/nano-banana/edit-image', input: proInput({ resolution: '2K' }) });
    expect(nano.body.error.details.issues[0].path).toBe('input.resolution');
  });

  it('rejects a malformed slug (400 INVALID_MODEL_SLUG), an unknown model (404 MODEL_NOT_FOUND) and bad bodies', async () => {
    expect((await s.submit({ model: 'not a slug', input: proInput() })).body.error.code).toBe('INVALID_MODEL_SLUG');
    const unknown = await s.submit({ model: 'acme/imaginary-1/edit-image', input: proInput() });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('MODEL_NOT_FOUND');
    const typo = await s.submit({ model: PRO, input: proInput(), webhookURL: 'https://x.test/h' });
    expect(typo.status).toBe(400);
    expect(typo.body.error.code).toBe('INVALID_INPUT');
    const res = await fetch(`${s.url}/v1/jobs/submit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe('INVALID_INPUT');
  });

  it('accepts https webhook URLs and http only to loopback', async () => {
    const submitWith = (webhookUrl: string) => s.submit({ model: PRO, input: proInput(), webhookUrl });
    expect((await submitWith('https://relay.example.com/hooks')).status).toBe(200);
    expect((await submitWith('http://127.0.0.1:9/hooks')).status).toBe(200);
    expect((await submitWith('http://localhost:9/hooks')).status).toBe(200);
    const plain = await submitWith('http://relay.example.com/hooks');
    expect(plain.status).toBe(400);
    expect(plain.body.error.code).toBe('INVALID_WEBHOOK_URL');
    expect((await submitWith('not a url')).body.error.code).toBe('INVALID_WEBHOOK_URL');
  });

  it("httpWebhooks 'none' refuses http even to loopback", async () => {
    await s.sim.close();
    s = await startSimulator({ httpWebhooks: 'none' });
    const res = await s.submit({ model: PRO, input: proInput(), webhookUrl: 'http://127.0.0.1:9/hooks' });
    expect(res.body.error.code).toBe('INVALID_WEBHOOK_URL');
  });

  it("httpWebhooks 'any' accepts http to a named host, as a compose stack's api service needs", async () => {
    await s.sim.close();
    s = await startSimulator({ httpWebhooks: 'any' });
    expect((await s.submit({ model: PRO, input: proInput(), webhookUrl: 'http://api:3000/hooks' })).status).toBe(200);
    expect((await s.submit({ model: PRO, input: proInput(), webhookUrl: 'ftp://api/hooks' })).body.error.code).toBe('INVALID_WEBHOOK_URL');
  });

  it('answers 402 INSUFFICIENT_BALANCE when the balance cannot cover the cost', async () => {
    await s.sim.close();
    s = await startSimulator({ balanceMicroCents: 100_000 });
    expect((await s.submit({ model: PRO, input: proInput({ num_images: '2' }) })).status).toBe(200);
    const broke = await s.submit({ model: PRO, input: proInput() });
    expect(broke.status).toBe(402);
    expect(broke.body.error.code).toBe('INSUFFICIENT_BALANCE');
    expect(s.sim.stats()).toMatchObject({ jobsCreated: 1, chargedMicroCents: 90_000, balanceMicroCents: 10_000 });
  });
});

describe('GET /v1/jobs/:jobId and GET /v1/jobs', () => {
  it('404s unknown jobs and jobs of another key', async () => {
    const res = await s.submit({ model: PRO, input: proInput() });
    expect((await s.api('GET', '/v1/jobs/job_nope')).body.error.code).toBe('JOB_NOT_FOUND');
    const other = await s.api('GET', `/v1/jobs/${res.body.jobId}`, undefined, 'pb_other_key');
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('JOB_NOT_FOUND');
  });

  it('lists newest first with a cursor, filtered by status and modelId', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await s.submit({ model: PRO, input: proInput() })).body.jobId);
    await s.submit({ model: 'google/nano-banana/edit-image', input: proInput() });
    await s.api('POST', '/v1/jobs/submit', { model: PRO, input: proInput() }, 'pb_other_key');

    const first = await s.api('GET', `/v1/jobs?limit=2&modelId=${encodeURIComponent(PRO)}`);
    expect(first.body.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([ids[4], ids[3]]);
    expect(first.body).toMatchObject({ hasMore: true });
    expect(first.body.jobs[0]).toMatchObject({ status: 'pending', progress: 0, model: PRO, completedAt: null });
    const second = await s.api('GET', `/v1/jobs?limit=2&modelId=${encodeURIComponent(PRO)}&cursor=${first.body.nextCursor}`);
    expect(second.body.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([ids[2], ids[1]]);
    const third = await s.api('GET', `/v1/jobs?limit=2&modelId=${encodeURIComponent(PRO)}&cursor=${second.body.nextCursor}`);
    expect(third.body).toEqual({ jobs: [expect.objectContaining({ jobId: ids[0] })], nextCursor: null, hasMore: false });

    expect((await s.api('GET', '/v1/jobs?limit=100')).body.jobs).toHaveLength(6);
    await s.api('POST', `/v1/jobs/${ids[0]}/cancel`);
    const cancelled = await s.api('GET', '/v1/jobs?status=cancelled');
    expect(cancelled.body.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([ids[0]]);

    expect((await s.api('GET', '/v1/jobs?limit=101')).body.error.code).toBe('INVALID_INPUT');
    expect((await s.api('GET', '/v1/jobs?cursor=garbage')).body.error.code).toBe('INVALID_INPUT');
  });
});

describe('POST /v1/jobs/:jobId/cancel', () => {
  it('cancels a pending job with a refund, and refuses once it is processing', async () => {
    await s.sim.close();
    s = await startSimulator({ pendingMs: 300 });
    const a = (await s.submit({ model: PRO, input: proInput({ num_images: '2' }) })).body.jobId;
    const cancel = await s.api('POST', `/v1/jobs/${a}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body).toEqual({ jobId: a, status: 'cancelled', refundedMicroCents: 90_000 });
    expect(s.sim.stats()).toMatchObject({ chargedMicroCents: 90_000, refundedMicroCents: 90_000, unfinished: 0 });
    expect((await s.api('GET', `/v1/jobs/${a}`)).body.status).toBe('cancelled');
    // It stays cancelled: the lifecycle timers were stopped.
    await new Promise((r) => setTimeout(r, 150));
    expect(s.sim.jobs.get(a)?.status).toBe('cancelled');
    expect((await s.api('POST', `/v1/jobs/${a}/cancel`)).body.error.code).toBe('JOB_CANNOT_BE_CANCELLED');

    const b = (await s.submit({ model: PRO, input: proInput() })).body.jobId;
    await s.sim.waitFor(() => s.sim.jobs.get(b)?.status === 'processing');
    const late = await s.api('POST', `/v1/jobs/${b}/cancel`);
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe('JOB_CANNOT_BE_CANCELLED');
    expect((await s.api('POST', '/v1/jobs/job_nope/cancel')).status).toBe(404);
  });
});

describe("envelope 'wrapped'", () => {
  it('wraps successes in { success, data, requestId } and keeps errors flat', async () => {
    await s.sim.close();
    s = await startSimulator({ envelope: 'wrapped', pendingMs: 5_000 });
    const res = await s.submit({ model: PRO, input: proInput() });
    expect(res.body).toMatchObject({ success: true, data: { status: 'pending', costMicroCents: 45_000 } });
    expect(res.body.requestId).toBe(res.body.data.requestId);
    const job = await s.api('GET', `/v1/jobs/${res.body.data.jobId}`);
    expect(job.body).toMatchObject({ success: true, data: { jobId: res.body.data.jobId, status: 'pending' } });
    expect((await s.api('GET', '/v1/jobs')).body.data.jobs).toHaveLength(1);
    expect((await s.api('GET', '/v1/jobs/job_nope')).body).toMatchObject({ success: false, error: { code: 'JOB_NOT_FOUND' } });
  });
});
