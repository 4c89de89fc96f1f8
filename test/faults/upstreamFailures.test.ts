import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { settledEdit, submitsFor as submitsForEdit } from '../helpers/edits.js';
import { eventually, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

let sim: Simulator;
let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ sim, t, stop } = await startRelayWithSimulator(
    { SUBMIT_MAX_ATTEMPTS: '3', SUBMIT_FENCE_GRACE_MS: '60000', WORKER_CONCURRENCY: '1' },
    { pendingMs: 50, processingMs: 100, webhookRetryDelaysMs: [100, 200] },
  ));
});
afterAll(() => stop?.());
afterEach(() => sim.configure({ submitFault: undefined, webhook: 'deliver' }));

const input = { prompt: 'upstream failure test', image_urls: ['https://example.com/a.jpg'] };

async function post(body: object = { input }) {
  const res = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: body });
  expect(res.statusCode).toBe(202);
  return res.json().id as string;
}
const settled = (id: string) => settledEdit(t, id);
const submitsFor = (id: string) => submitsForEdit(sim, id);

describe('upstream errors, classified', () => {
  it('retries 500 and 503, then completes; every attempt is recorded', async () => {
    sim.nextSubmit({ kind: 'error', status: 500, code: 'INTERNAL_ERROR' }, { kind: 'error', status: 503, code: 'PUBSUB_PUBLISH_FAILED' });
    const id = await post();
    const edit = await settled(id);
    expect(edit.status).toBe('completed');
    expect(submitsFor(id)).toHaveLength(3);
    const attempts = await t.db.submitAttempt.findMany({ where: { editId: id }, orderBy: { attempt: 'asc' } });
    expect(attempts.map((a) => [a.attempt, a.outcome, a.httpStatus, a.upstreamCode])).toEqual([
      [1, 'rejected', 500, 'INTERNAL_ERROR'],
      [2, 'rejected', 503, 'PUBSUB_PUBLISH_FAILED'],
      [3, 'accepted', 200, null],
    ]);
    expect(sim.stats().jobsCreated).toBeGreaterThanOrEqual(1);
    const notes = edit.history.filter((h: { from: string; to: string }) => h.from === h.to).map((h: { upstreamCode: string }) => h.upstreamCode);
    expect(notes).toEqual(expect.arrayContaining(['INTERNAL_ERROR', 'PUBSUB_PUBLISH_FAILED']));
  });

  it.each([
    [400, 'INVALID_INPUT'],
    [402, 'INSUFFICIENT_BALANCE'],
    [401, 'INVALID_API_KEY'],
    [403, 'MODEL_ACCESS_DENIED'],
  ])('fails at once on %s %s, with PixelByte’s code and message', async (status, code) => {
    sim.nextSubmit({ kind: 'error', status, code, message: `simulated ${code}` });
    const id = await post();
    const edit = await settled(id);
    expect(edit.status).toBe('failed');
    expect(edit.error).toEqual({ code, message: `simulated ${code}` });
    expect(submitsFor(id)).toHaveLength(1);
  });

  it('fails with UPSTREAM_UNAVAILABLE when retries run out', async () => {
    sim.configure({ submitFault: { kind: 'error', status: 503, code: 'PUBSUB_PUBLISH_FAILED' } });
    const id = await post();
    const edit = await settled(id);
    expect(edit.status).toBe('failed');
    expect(edit.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(submitsFor(id)).toHaveLength(3);
  });

  it('pauses the whole queue for retryAfter on 429, without spending the edit’s attempts', async () => {
    sim.nextSubmit(
      { kind: 'error', status: 429, code: 'CONCURRENT_JOBS_EXCEEDED', retryAfter: 1 },
      { kind: 'error', status: 429, code: 'CONCURRENT_JOBS_EXCEEDED', retryAfter: 1 },
      { kind: 'error', status: 429, code: 'CONCURRENT_JOBS_EXCEEDED', retryAfter: 1 },
    );
    const first = await post();
    await eventually(() => (submitsFor(first).length >= 1 ? true : undefined));
    const second = await post();
    const [a, b] = [await settled(first), await settled(second)];
    expect(a.status).toBe('completed');
    expect(b.status).toBe('completed');
    // Three 429s and SUBMIT_MAX_ATTEMPTS=3: had they counted, the edit would have failed.
    const calls = sim.calls.filter(
      (c) => c.path === '/v1/jobs/submit' && [first, second].some((id) => String((c.body as { webhookUrl?: string }).webhookUrl).endsWith(id)),
    );
    const limited = calls.filter((c) => c.statusCode === 429);
    expect(limited.length).toBe(3);
    // One submit at a time (WORKER_CONCURRENCY=1), so after each 429 the next submit waits out retryAfter.
    const ms = (c: { at: unknown }) => new Date(c.at as string).getTime();
    for (const call of limited) {
      const next = calls.find((c) => ms(c) > ms(call));
      expect(next, 'a submit after the 429').toBeDefined();
      expect(ms(next!) - ms(call)).toBeGreaterThanOrEqual(950);
    }
  });
});

describe('never pay twice', () => {
  it('a submit whose answer is lost is not resubmitted: the webhook adopts its job', async () => {
    sim.nextSubmit({ kind: 'accept-then-drop' });
    const id = await post();
    const edit = await settled(id);
    expect(edit.status).toBe('completed');
    expect(submitsFor(id)).toHaveLength(1);
    const jobs = [...sim.jobs.values()].filter((j) => String(j.webhookUrl).endsWith(id));
    expect(jobs).toHaveLength(1);
    expect(edit.upstream.jobId).toBe(jobs[0]!.jobId);
    const attempts = await t.db.submitAttempt.findMany({ where: { editId: id } });
    expect(attempts.map((a) => a.outcome)).toEqual(['unknown']);
  });
});
