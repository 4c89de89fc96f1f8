import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEY, PRO, proInput, type Running, startReceiver, startSimulator } from './helpers.js';

let s: Running;
beforeEach(async () => {
  s = await startSimulator();
});
afterEach(async () => {
  await s.sim.close();
});

const body = { model: PRO, input: proInput() };

describe('submit faults', () => {
  it.each([
    [{ kind: 'error', status: 429, code: 'CONCURRENT_JOBS_EXCEEDED', retryAfter: 7 } as const, { retryAfter: 7 }],
    [{ kind: 'error', status: 500, code: 'INTERNAL_ERROR' } as const, null],
    [{ kind: 'error', status: 503, code: 'PUBSUB_PUBLISH_FAILED' } as const, null],
    [{ kind: 'error', status: 409, code: 'CONFLICT', message: 'busy', retryAfter: 2 } as const, { retryAfter: 2 }],
    [{ kind: 'error', status: 403, code: 'MODEL_ACCESS_DENIED' } as const, null],
  ])('answers %o once, in PixelByte’s error shape, creating and charging nothing', async (behaviour, details) => {
    s.sim.nextSubmit(behaviour);
    const res = await s.submit(body);
    expect(res.status).toBe(behaviour.status);
    expect(res.body).toEqual({
      success: false,
      error: { code: behaviour.code, message: expect.any(String), details },
      requestId: expect.stringMatching(/^req_/),
    });
    expect(s.sim.stats()).toMatchObject({ submits: 1, jobsCreated: 0, chargedMicroCents: 0 });
    expect((await s.submit(body)).status).toBe(200);
  });

  it('consumes one-shot behaviours in FIFO order, one per submit', async () => {
    s.sim.nextSubmit({ kind: 'error', status: 500, code: 'INTERNAL_ERROR' }, { kind: 'error', status: 503, code: 'PUBSUB_PUBLISH_FAILED' });
    expect((await s.submit(body)).status).toBe(500);
    expect((await s.submit(body)).status).toBe(503);
    expect((await s.submit(body)).status).toBe(200);
  });

  it("'accept-then-drop' creates and charges the job while the client sees a socket error", async () => {
    s.sim.nextSubmit({ kind: 'accept-then-drop' });
    await expect(s.submit(body)).rejects.toThrow(/fetch failed/);
    expect(s.sim.stats()).toMatchObject({ jobsCreated: 1, chargedMicroCents: 45_000 });
    const [job] = [...s.sim.jobs.values()];
    await s.sim.waitFor(() => job!.status === 'completed');
    expect((await s.api('GET', '/v1/jobs')).body.jobs).toHaveLength(1);
    expect(s.sim.calls.find((c) => c.path === '/v1/jobs/submit')?.statusCode).toBeNull();
  });

  it("'accept-then-slow' creates and charges the job at once and answers it later", async () => {
    s.sim.nextSubmit({ kind: 'accept-then-slow', delayMs: 300 });
    const answer = s.submit(body);
    await s.sim.waitFor(() => s.sim.stats().jobsCreated === 1);
    expect(s.sim.calls.find((c) => c.path === '/v1/jobs/submit')?.statusCode).toBeNull();
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.body.jobId).toBe([...s.sim.jobs.keys()][0]);
    expect(s.sim.stats()).toMatchObject({ jobsCreated: 1, chargedMicroCents: 45_000 });
  });

  it("'drop' destroys the socket and creates nothing", async () => {
    s.sim.nextSubmit({ kind: 'drop' });
    await expect(s.submit(body)).rejects.toThrow(/fetch failed/);
    expect(s.sim.stats()).toMatchObject({ submits: 1, jobsCreated: 0, chargedMicroCents: 0 });
  });

  describe("'gateway-error': the load balancer answers 502/504 with HTML, no PixelByte envelope", () => {
    const rawSubmit = () =>
      fetch(`${s.url}/v1/jobs/submit`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    it.each([502, 504] as const)('%s after PixelByte created and charged the job: the job runs and its webhook is sent as usual', async (status) => {
      const receiver = await startReceiver();
      try {
        s.sim.nextSubmit({ kind: 'gateway-error', status, jobCreated: true });
        const res = await fetch(`${s.url}/v1/jobs/submit`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ ...body, webhookUrl: receiver.url }),
        });
        expect(res.status).toBe(status);
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        const text = await res.text();
        expect(text).toMatch(/^<html>/);
        expect(text).not.toMatch(/success|error|jobId/);
        expect(s.sim.stats()).toMatchObject({ submits: 1, jobsCreated: 1, chargedMicroCents: 45_000 });
        const [job] = [...s.sim.jobs.values()];
        await s.sim.waitFor(() => receiver.received.length === 1);
        expect(receiver.received[0]!.body).toMatchObject({ jobId: job!.jobId, status: 'completed' });
        expect((await s.api('GET', '/v1/jobs')).body.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([job!.jobId]);
        expect(s.sim.calls[0]!.statusCode).toBe(status);
      } finally {
        await receiver.close();
      }
    });

    it.each([502, 504] as const)('%s before anything reached PixelByte: no job, no charge', async (status) => {
      s.sim.nextSubmit({ kind: 'gateway-error', status, jobCreated: false });
      const res = await rawSubmit();
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain(`<h1>${status} `);
      expect(s.sim.stats()).toMatchObject({ submits: 1, jobsCreated: 0, chargedMicroCents: 0 });
      expect((await s.api('GET', '/v1/jobs')).body.jobs).toEqual([]);
    });

    it('a submit PixelByte itself refuses gets PixelByte’s answer through the gateway, and creates nothing', async () => {
      s.sim.nextSubmit({ kind: 'gateway-error', status: 504, jobCreated: true });
      const res = await s.submit({ model: PRO, input: { prompt: 'no images' } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
      expect(s.sim.stats()).toMatchObject({ jobsCreated: 0, chargedMicroCents: 0 });
    });

    it('works as the global submitFault, and combines with a global webhook switch', async () => {
      s.sim.configure({ submitFault: { kind: 'gateway-error', status: 502, jobCreated: true }, webhook: 'drop' });
      for (let i = 0; i < 2; i++) expect((await rawSubmit()).status).toBe(502);
      expect(s.sim.stats()).toMatchObject({ submits: 2, jobsCreated: 2 });
      expect([...s.sim.jobs.values()].map((j) => j.webhookMode)).toEqual(['drop', 'drop']);
      s.sim.configure({ submitFault: { kind: 'gateway-error', status: 504, jobCreated: false } });
      expect((await rawSubmit()).status).toBe(504);
      expect(s.sim.stats().jobsCreated).toBe(2);
    });

    it('is refused by /__sim with a status other than 502/504', async () => {
      const bad = await s.api('POST', '/__sim/next-submit', { behaviours: [{ kind: 'gateway-error', status: 500, jobCreated: true }] }, null);
      expect(bad.status).toBe(400);
      const good = await s.api('POST', '/__sim/next-submit', { behaviours: [{ kind: 'gateway-error', status: 504, jobCreated: false }] }, null);
      expect(good.status).toBe(200);
      expect((await rawSubmit()).status).toBe(504);
    });
  });

  it("'slow' delays the answer; a client that gives up still gets a job created", async () => {
    s.sim.nextSubmit({ kind: 'slow', delayMs: 200 });
    const started = Date.now();
    expect((await s.submit(body)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);

    s.sim.nextSubmit({ kind: 'slow', delayMs: 200 });
    const aborted = fetch(`${s.url}/v1/jobs/submit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(50),
    });
    await expect(aborted).rejects.toThrow();
    await s.sim.waitFor(() => s.sim.stats().jobsCreated === 2);
  });

  it('submitFault applies to every submit, or to a fraction with submitFaultRate', async () => {
    s.sim.configure({ submitFault: { kind: 'error', status: 503, code: 'PUBSUB_PUBLISH_FAILED' } });
    for (let i = 0; i < 3; i++) expect((await s.submit(body)).status).toBe(503);
    s.sim.configure({ submitFaultRate: 0 });
    expect((await s.submit(body)).status).toBe(200);
    s.sim.configure({ submitFaultRate: 0.5 });
    const statuses = await Promise.all(Array.from({ length: 40 }, () => s.submit(body).then((r) => r.status)));
    expect(statuses).toContain(503);
    expect(statuses).toContain(200);
  });

  it('responseDelayMs slows every route', async () => {
    s.sim.configure({ responseDelayMs: 120 });
    const started = Date.now();
    await s.api('GET', '/v1/jobs');
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('concurrencyLimit answers 429 CONCURRENT_JOBS_EXCEEDED with details.retryAfter until a job finishes', async () => {
    await s.sim.close();
    s = await startSimulator({ concurrencyLimit: 2, pendingMs: 300, processingMs: 50, apiKeys: [KEY, 'pb_other'] });
    expect((await s.submit(body)).status).toBe(200);
    expect((await s.submit(body)).status).toBe(200);
    const limited = await s.submit(body);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('CONCURRENT_JOBS_EXCEEDED');
    expect(limited.body.error.details.retryAfter).toBeGreaterThan(0);
    // The limit is per key.
    expect((await s.api('POST', '/v1/jobs/submit', body, 'pb_other')).status).toBe(200);
    expect(s.sim.stats()).toMatchObject({ unfinished: 3, maxUnfinished: 3, jobsCreated: 3 });
    await s.sim.waitFor(() => s.sim.stats().unfinished === 0);
    expect((await s.submit(body)).status).toBe(200);
    expect(s.sim.stats().maxUnfinished).toBe(3);
  });
});

describe('recording and control', () => {
  it('records every HTTP call with its parsed body and status', async () => {
    await s.submit(body);
    await s.api('GET', '/v1/jobs?limit=5');
    expect(s.sim.calls).toMatchObject([
      { method: 'POST', path: '/v1/jobs/submit', body, statusCode: 200 },
      { method: 'GET', path: '/v1/jobs', statusCode: 200 },
    ]);
    expect(s.sim.calls[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('is driven over HTTP by /__sim/config, /__sim/next-submit, /__sim/state and /__sim/reset', async () => {
    const receiver = await startReceiver();
    try {
      const config = await s.api('POST', '/__sim/config', { failureRate: 1, webhook: 'duplicate' }, null);
      expect(config.body.switches).toEqual({ failureRate: 1, webhook: 'duplicate' });
      const bad = await s.api('POST', '/__sim/config', { failureRate: 2 }, null);
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_INPUT');

      const { body: job } = await s.submit({ ...body, webhookUrl: receiver.url });
      await s.sim.waitFor(() => s.sim.deliveries.length >= 2);
      expect(receiver.received[0]!.body).toMatchObject({ jobId: job.jobId, status: 'failed' });

      expect((await s.api('POST', '/__sim/config', { webhook: null, failureRate: null, responseDelayMs: 1 }, null)).body.switches).toEqual({
        responseDelayMs: 1,
      });

      await s.api('POST', '/__sim/next-submit', { behaviours: [{ kind: 'error', status: 500, code: 'INTERNAL_ERROR' }] }, null);
      expect((await s.submit(body)).status).toBe(500);

      const state = await s.api('GET', '/__sim/state', undefined, null);
      expect(state.body.stats).toMatchObject({ submits: 2, jobsCreated: 1, refundedMicroCents: 45_000 });
      expect(state.body.jobs).toMatchObject([{ jobId: job.jobId, status: 'failed', webhookMode: 'duplicate' }]);
      expect(state.body.deliveries.length).toBeGreaterThanOrEqual(2);
      // Control-plane calls are not recorded as PixelByte calls.
      expect(s.sim.calls.every((c) => c.path.startsWith('/v1/'))).toBe(true);

      await s.api('POST', '/__sim/reset', undefined, null);
      expect(s.sim.jobs.size).toBe(0);
      expect(s.sim.calls).toHaveLength(0);
      expect(s.sim.deliveries).toHaveLength(0);
      expect(s.sim.stats()).toMatchObject({ submits: 0, jobsCreated: 0, chargedMicroCents: 0 });
      expect((await s.api('GET', '/__sim/state', undefined, null)).body).toMatchObject({ switches: {}, queued: [] });
    } finally {
      await receiver.close();
    }
  });

  it('reset() stops the lifecycle of forgotten jobs and forgets one-shot behaviours', async () => {
    s.sim.nextSubmit({ kind: 'error', status: 500, code: 'INTERNAL_ERROR' }, { kind: 'error', status: 500, code: 'INTERNAL_ERROR' });
    expect((await s.submit(body)).status).toBe(500);
    s.sim.reset();
    const res = await s.submit(body);
    expect(res.status).toBe(200);
    const job = s.sim.jobs.get(res.body.jobId)!;
    s.sim.reset();
    const statusAtReset = job.status;
    await new Promise((r) => setTimeout(r, 150));
    expect(job.status).toBe(statusAtReset);
    expect(s.sim.jobs.size).toBe(0);
  });

  it('answers unknown routes in the error shape', async () => {
    const res = await s.api('GET', '/v2/whatever');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
  });
});
