import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
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
