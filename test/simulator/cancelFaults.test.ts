import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PRO, proInput, type Running, startSimulator } from './helpers.js';

let s: Running;
beforeEach(async () => {
  s = await startSimulator({ pendingMs: 60_000 });
});
afterEach(async () => {
  await s.sim.close();
});

describe('cancelResponseDelayMs', () => {
  it('cancels and refunds at once, and answers later: a status read in between already sees the job cancelled', async () => {
    const { jobId } = (await s.submit({ model: PRO, input: proInput() })).body;
    s.sim.configure({ cancelResponseDelayMs: 1_500 });
    const events: string[] = [];
    const cancel = s.api('POST', `/v1/jobs/${jobId}/cancel`).then((res) => {
      events.push('cancel answered');
      return res;
    });

    await s.sim.waitFor(() => s.sim.jobs.get(jobId)?.status === 'cancelled');
    const read = await s.api('GET', `/v1/jobs/${jobId}`);
    events.push(`read ${read.body.status}`);
    expect(s.sim.stats()).toMatchObject({ refundedMicroCents: 45_000 });

    expect(await cancel).toEqual({ status: 200, body: { jobId, status: 'cancelled', refundedMicroCents: 45_000 } });
    expect(events).toEqual(['read cancelled', 'cancel answered']);
  });
});
