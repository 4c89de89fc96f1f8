import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../simulator/index.js';
import { type ChildRelay, startChildRelay } from '../helpers/childRelay.js';
import { createClient, TEST_ADMIN_TOKEN, type TestClient } from '../helpers/clients.js';
import { eventually, sameDeploymentEnv, startTestRelay, type TestRelay } from '../helpers/relay.js';

// Fair share of one upstream cap between clients, with real worker processes against the simulator over HTTP.
let sim: Simulator;
let api: TestRelay;
const children: ChildRelay[] = [];

const CAP = 2;

beforeAll(async () => {
  // About a second per job at PixelByte, so the queue is long enough to show whose edits go first.
  sim = createSimulator({ pendingMs: 200, processingMs: 800, webhookRetryDelaysMs: [200, 400, 800] });
  api = await startTestRelay(await sim.listen(0, '127.0.0.1'), {
    ROLE: 'api',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SUBMIT_FENCE_GRACE_MS: '60000',
    UPSTREAM_MAX_CONCURRENCY: String(CAP),
  });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await api?.stop();
  await sim?.close();
});

async function workers(count: number): Promise<void> {
  const started = await Promise.all(
    Array.from({ length: count }, () => startChildRelay(sameDeploymentEnv(api, { ROLE: 'worker', WORKER_CONCURRENCY: '4', WORKER_NICE: '0' }), 40_000)),
  );
  children.push(...started);
}

const input = { prompt: 'fair share test', image_urls: ['https://example.com/a.jpg'] };

async function post(client: TestClient): Promise<string> {
  const res = await api.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: client.auth, payload: { input } });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
}

const submitsOf = (id: string) =>
  sim.calls.filter((c) => c.path === '/v1/jobs/submit' && String((c.body as { webhookUrl: string }).webhookUrl).includes(id)).length;

async function completedAt(ids: string[]): Promise<Map<string, Date>> {
  const rows = await api.db.edit.findMany({ where: { id: { in: ids }, status: 'completed' }, select: { id: true, completedAt: true } });
  return new Map(rows.map((r) => [r.id, r.completedAt!]));
}

describe('fair share under UPSTREAM_MAX_CONCURRENCY', () => {
  it("a client arriving behind another's backlog is served from its first edit: B's 3 complete before A's 10th", async () => {
    const [a, b] = [await createClient(api, { name: 'A' }), await createClient(api, { name: 'B' })];
    await workers(1);
    const fromA: string[] = [];
    for (let i = 0; i < 30; i++) fromA.push(await post(a));
    const fromB: string[] = [];
    for (let i = 0; i < 3; i++) fromB.push(await post(b));

    await eventually(async () => ((await completedAt(fromB)).size === 3 ? true : undefined), 60_000, "B's edits to complete");
    await eventually(async () => ((await completedAt(fromA)).size >= 10 ? true : undefined), 60_000, "A's tenth edit to complete");
    const doneB = [...(await completedAt(fromB)).values()].map((d) => d.getTime());
    const doneA = [...(await completedAt(fromA)).values()].map((d) => d.getTime()).sort((x, y) => x - y);
    expect(Math.max(...doneB)).toBeLessThan(doneA[9]!);
    expect(sim.stats().maxUnfinished).toBeLessThanOrEqual(CAP);
  }, 120_000);

  it('4 worker processes: never more than the cap at PixelByte, and no edit submitted twice', async () => {
    const clients = [await createClient(api, { name: 'C1' }), await createClient(api, { name: 'C2' }), await createClient(api, { name: 'C3' })];
    await workers(3); // with the first test's, 4
    // Whatever the first test left queued finishes first: this one counts from an idle PixelByte.
    const unfinished = () => api.db.edit.count({ where: { status: { notIn: ['completed', 'failed', 'cancelled'] } } });
    await eventually(async () => ((await unfinished()) === 0 ? true : undefined), 90_000, 'the queue to drain');
    sim.reset();
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push(await post(clients[i % clients.length]!));
    await eventually(async () => ((await completedAt(ids)).size === ids.length ? true : undefined), 90_000, 'every edit to complete');

    expect(sim.stats().maxUnfinished).toBeLessThanOrEqual(CAP);
    for (const id of ids) expect(submitsOf(id), `submits of ${id}`).toBe(1);
    const attempts = await api.db.submitAttempt.groupBy({ by: ['editId'], where: { editId: { in: ids } }, _count: true });
    expect(attempts.map((a) => a._count)).toEqual(ids.map(() => 1));
  }, 180_000);

  it('an edit whose deadline passes while it waits in the queue ends cancelled, never sent, nothing charged', async () => {
    const client = await createClient(api, { name: 'D' });
    const ahead: string[] = [];
    for (let i = 0; i < 6; i++) ahead.push(await post(client));
    const res = await api.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: client.auth, payload: { input, expiresInSeconds: 1 } });
    expect(res.statusCode, res.body).toBe(202);
    const late = res.json().id as string;

    const edit = await eventually(
      async () => {
        const row = await api.db.edit.findUniqueOrThrow({ where: { id: late } });
        return row.status === 'queued' ? undefined : row;
      },
      30_000,
      'the late edit to leave the queue',
    );
    expect(edit).toMatchObject({ status: 'cancelled', errorCode: 'DEADLINE_PASSED', costMicroCents: null, upstreamJobId: null });
    const history = await api.db.editTransition.findMany({ where: { editId: late }, orderBy: { id: 'asc' } });
    expect(history.map((h) => [h.toStatus, h.cause])).toEqual([
      ['queued', 'accepted'],
      ['cancelled', 'deadline'],
    ]);
    expect(submitsOf(late)).toBe(0);
    expect(await api.db.submitAttempt.count({ where: { editId: late } })).toBe(0);
    await eventually(async () => ((await completedAt(ahead)).size === ahead.length ? true : undefined), 60_000, 'the edits ahead to complete');
  }, 120_000);
});
