import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL } from '../../src/catalog/models.js';
import { settledEdit } from '../helpers/edits.js';
import { type RelayWithSimulator, startRelayWithSimulator } from '../helpers/relay.js';

// A 502/504 from the load balancer in front of PixelByte says nothing about whether the job exists.
const GRACE_MS = 1500;
const input = { prompt: 'behind a gateway', image_urls: ['https://example.com/a.jpg'] };

type Setup = RelayWithSimulator;

function start(env: Record<string, string> = {}): Promise<Setup> {
  // One simulator (one PixelByte key) per relay: with an exclusive key, no other relay's jobs may be listed.
  return startRelayWithSimulator(
    { SUBMIT_FENCE_GRACE_MS: String(GRACE_MS), RECONCILE_GRACE_MS: '200', RECONCILE_MAX_INTERVAL_MS: '500', SWEEP_INTERVAL_MS: '200', ...env },
    { pendingMs: 50, processingMs: 100, webhookRetryDelaysMs: [100, 200] },
  );
}

async function post({ t }: Setup): Promise<string> {
  const res = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { input } });
  expect(res.statusCode).toBe(202);
  return res.json().id as string;
}

// Matched on the edit id anywhere in the webhook URL, whatever else the URL carries.
const named = (webhookUrl: unknown, id: string) => String(webhookUrl).includes(id);
const submitsFor = ({ sim }: Setup, id: string) =>
  sim.calls.filter((c) => c.path === '/v1/jobs/submit' && named((c.body as { webhookUrl?: string })?.webhookUrl, id));
const jobsFor = ({ sim }: Setup, id: string) => [...sim.jobs.values()].filter((j) => named(j.webhookUrl, id));
const causes = (edit: { history: { cause: string }[] }) => edit.history.map((h) => h.cause);
const attemptsOf = ({ t }: Setup, id: string) => t.db.submitAttempt.findMany({ where: { editId: id }, orderBy: { attempt: 'asc' } });
const at = (call: { at: unknown }) => new Date(call.at as string).getTime();
/** Long enough for a resend the fence would allow to have happened: a lower bound, not a speed goal. */
const pastTheGrace = () => new Promise((r) => setTimeout(r, GRACE_MS + 500));

/** Sent once, one job at PixelByte, one charge on its ledger, and the edit holds that job. Returns the job. */
async function expectPaidOnce(s: Setup, id: string, edit: { upstream: { jobId: string } }) {
  await pastTheGrace();
  expect(submitsFor(s, id)).toHaveLength(1);
  const jobs = jobsFor(s, id);
  expect(jobs).toHaveLength(1);
  expect(s.sim.stats()).toMatchObject({ jobsCreated: 1, chargedMicroCents: jobs[0]!.costMicroCents });
  expect(edit.upstream.jobId).toBe(jobs[0]!.jobId);
  return jobs[0]!;
}

describe('behind a gateway, with a PixelByte key that may be shared (no listing)', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(() => s?.stop());
  beforeEach(() => s.sim.reset());

  it.each([504, 502] as const)('%s after PixelByte created the job: not resent; the webhook adopts it; one job, one charge', async (status) => {
    s.sim.nextSubmit({ kind: 'gateway-error', status, jobCreated: true });
    const id = await post(s);
    const edit = await settledEdit(s.t, id);
    expect(edit.status).toBe('completed');
    await expectPaidOnce(s, id, edit);
    expect((await attemptsOf(s, id)).map((a) => [a.outcome, a.httpStatus])).toEqual([['unknown', status]]);
    expect(causes(edit)).toContain('webhook completed');
    expect(causes(edit).join('\n')).not.toMatch(/duplicate charge/);
  });

  it.each([502, 504] as const)(
    '%s before anything reached PixelByte: no webhook, one resend after the grace, noting a duplicate charge was possible',
    async (status) => {
      s.sim.nextSubmit({ kind: 'gateway-error', status, jobCreated: false });
      const id = await post(s);
      const edit = await settledEdit(s.t, id);
      expect(edit.status).toBe('completed');

      const calls = submitsFor(s, id);
      expect(calls.map((c) => c.statusCode)).toEqual([status, 200]);
      expect(at(calls[1]!) - at(calls[0]!)).toBeGreaterThanOrEqual(GRACE_MS - 100);
      expect(s.sim.deliveries.filter((d) => d.at.getTime() < at(calls[1]!))).toEqual([]);
      expect(jobsFor(s, id)).toHaveLength(1);
      expect(s.sim.stats().jobsCreated).toBe(1);
      expect(causes(edit).some((c) => c.includes('a duplicate charge is possible'))).toBe(true);
    },
  );

  it('504 after the job was created and its webhook lost: the resend pays twice, and the history says so', async () => {
    s.sim.configure({ webhook: 'drop' });
    s.sim.nextSubmit({ kind: 'gateway-error', status: 504, jobCreated: true });
    const id = await post(s);
    const edit = await settledEdit(s.t, id);
    s.sim.configure({ webhook: undefined });
    expect(edit.status).toBe('completed');
    expect(jobsFor(s, id)).toHaveLength(2);
    expect(causes(edit).filter((c) => c.includes('a duplicate charge is possible'))).toHaveLength(1);
  });
});

describe('behind a gateway, with PIXELBYTE_KEY_EXCLUSIVE=true (PixelByte is asked before any resend)', () => {
  // A relay of its own per test: another edit's recent submit of unknown outcome would (rightly) make adoption ambiguous.
  let s: Setup;
  beforeEach(async () => {
    s = await start({ PIXELBYTE_KEY_EXCLUSIVE: 'true' });
  });
  afterEach(() => s?.stop());

  it('504 before anything reached PixelByte: PixelByte lists no such job, so the resend is clean', async () => {
    s.sim.nextSubmit({ kind: 'gateway-error', status: 504, jobCreated: false });
    const id = await post(s);
    const edit = await settledEdit(s.t, id);
    expect(edit.status).toBe('completed');

    const calls = submitsFor(s, id);
    expect(calls.map((c) => c.statusCode)).toEqual([504, 200]);
    expect(at(calls[1]!) - at(calls[0]!)).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(s.sim.calls.some((c) => c.method === 'GET' && c.path === '/v1/jobs' && at(c) < at(calls[1]!))).toBe(true);
    expect(jobsFor(s, id)).toHaveLength(1);
    const history = causes(edit).join('\n');
    expect(history).toContain('PixelByte lists no job from attempt 1, so no duplicate charge is possible');
    expect(history).not.toContain('a duplicate charge is possible');
  });

  it('504 after the job was created and its webhook lost: the job is found in the list and adopted; one job, one charge', async () => {
    s.sim.configure({ webhook: 'drop' });
    s.sim.nextSubmit({ kind: 'gateway-error', status: 504, jobCreated: true });
    const id = await post(s);
    const edit = await settledEdit(s.t, id);
    expect(edit.status).toBe('completed');
    const job = await expectPaidOnce(s, id, edit);
    expect(s.sim.deliveries).toHaveLength(0);
    expect((await attemptsOf(s, id)).map((a) => [a.outcome, a.httpStatus, a.upstreamJobId])).toEqual([['accepted', 200, job.jobId]]);
    const history = causes(edit);
    expect(history.some((c) => c.startsWith(`adopted job ${job.jobId}`))).toBe(true);
    expect(history.at(-1)).toMatch(/^poll: completed/);
  });

  it('searches the list only back to the uncertain attempt: older jobs of the model cost no further pages', async () => {
    const simUrl = s.t.config.PIXELBYTE_API_URL;
    for (let i = 0; i < 250; i++) {
      const res = await fetch(`${simUrl}/v1/jobs/submit`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.t.config.PIXELBYTE_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: DEFAULT_MODEL, input }),
      });
      expect(res.status).toBe(200);
    }
    // Jobs from an hour ago, long before any submit of this relay.
    for (const job of s.sim.jobs.values()) job.createdAt = new Date(Date.now() - 3_600_000);

    s.sim.configure({ webhook: 'drop' });
    s.sim.nextSubmit({ kind: 'gateway-error', status: 504, jobCreated: true });
    const id = await post(s);
    const edit = await settledEdit(s.t, id);
    expect(edit.status).toBe('completed');
    expect(edit.upstream.jobId).toBe(jobsFor(s, id)[0]!.jobId);
    expect(jobsFor(s, id)).toHaveLength(1);
    expect(submitsFor(s, id)).toHaveLength(1);
    expect(s.sim.calls.filter((c) => c.method === 'GET' && c.path === '/v1/jobs')).toHaveLength(1);
  });

  it('two edits behind 504s whose webhooks are lost: neither takes the other’s job; both resend, noting a duplicate charge was possible', async () => {
    s.sim.configure({ webhook: 'drop' });
    s.sim.nextSubmit({ kind: 'gateway-error', status: 504, jobCreated: true }, { kind: 'gateway-error', status: 504, jobCreated: true });
    const ids = await Promise.all([post(s), post(s)]);
    const edits = await Promise.all(ids.map((id) => settledEdit(s.t, id)));
    s.sim.configure({ webhook: undefined });
    for (const [i, edit] of edits.entries()) {
      expect(edit.status).toBe('completed');
      const jobs = jobsFor(s, ids[i]!);
      expect(jobs).toHaveLength(2);
      // Whichever job it holds, it is one this edit created.
      expect(jobs.map((j) => j.jobId)).toContain(edit.upstream.jobId);
      expect(causes(edit).filter((c) => c.includes('a duplicate charge is possible'))).toHaveLength(1);
    }
  });
});
