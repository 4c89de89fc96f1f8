import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { eventually, startRelayWithSimulator, startTestRelay, type TestRelay } from '../helpers/relay.js';

let sim: Simulator;
let first: TestRelay;
let stop: () => Promise<void>;
let second: TestRelay;

beforeAll(async () => {
  let simUrl: string;
  ({ sim, simUrl, t: first, stop } = await startRelayWithSimulator({ UPSTREAM_MAX_PER_MINUTE: '3' }, { pendingMs: 50, processingMs: 100 }));
  // A second worker process of the same deployment: the limit is the queue's, not each worker's.
  second = await startTestRelay(simUrl, { ROLE: 'worker', UPSTREAM_MAX_PER_MINUTE: '3', PUBLIC_BASE_URL: first.config.PUBLIC_BASE_URL }, { share: first });
});
afterAll(async () => {
  await second?.stop();
  await stop?.();
});

describe('UPSTREAM_MAX_PER_MINUTE', () => {
  it('lets no more than the limit reach PixelByte in a minute, across workers; the rest wait, queued', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await first.relay.app!.inject({
        method: 'POST',
        url: '/v1/edits',
        headers: first.auth,
        payload: { input: { prompt: `rate ${i}`, image_urls: ['https://example.com/a.jpg'] } },
      });
      ids.push(res.json().id);
    }
    await eventually(() => (sim.stats().submits >= 3 ? true : undefined), 10_000, 'the first three submits');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(sim.stats().submits).toBe(3);
    const statuses = await first.db.edit.groupBy({ by: ['status'], _count: true, where: { id: { in: ids } } });
    const queued = statuses.find((s) => s.status === 'queued')?._count ?? 0;
    expect(queued).toBe(3);
  });
});

describe('UPSTREAM_MAX_CONCURRENCY, every slot held by a submit whose outcome is unknown', () => {
  it('resends those edits when their fence expires, though edits queue behind them all the while', async () => {
    // Found by the soak: 50 unanswered submits held the 50 slots; every queued edit met "no slot", went back to
    // the head of the queue and met it again, so the fenced edits' own jobs never came up and nothing moved again.
    const capped = await startRelayWithSimulator(
      { UPSTREAM_MAX_CONCURRENCY: '2', SUBMIT_FENCE_GRACE_MS: '1500', WORKER_CONCURRENCY: '4' },
      { pendingMs: 50, processingMs: 100 },
    );
    try {
      const post = async (i: number) => {
        const res = await capped.t.relay.app!.inject({
          method: 'POST',
          url: '/v1/edits',
          headers: capped.t.auth,
          payload: { input: { prompt: `capped ${i}`, image_urls: ['https://example.com/a.jpg'] } },
        });
        return res.json().id as string;
      };
      // The connection drops before PixelByte makes a job: the outcome is unknown, so each holds its slot until its fence expires.
      capped.sim.nextSubmit({ kind: 'drop' }, { kind: 'drop' });
      const fenced = [await post(0), await post(1)];
      await eventually(
        async () => ((await capped.t.db.submitAttempt.count({ where: { editId: { in: fenced }, outcome: 'unknown' } })) === 2 ? true : undefined),
        10_000,
        'both submits to end unknown',
      );
      const queued = await Promise.all([2, 3, 4, 5, 6, 7].map(post));
      await eventually(
        async () => ((await capped.t.db.edit.count({ where: { id: { in: [...fenced, ...queued] }, status: 'completed' } })) === 8 ? true : undefined),
        30_000,
        'every edit to complete',
      );
      for (const id of fenced) expect(await capped.t.db.submitAttempt.count({ where: { editId: id } })).toBe(2);
      for (const id of queued) expect(await capped.t.db.submitAttempt.count({ where: { editId: id } })).toBe(1);
      expect(capped.sim.stats().maxUnfinished).toBeLessThanOrEqual(2);
    } finally {
      await capped.stop();
    }
  }, 60_000);
});
