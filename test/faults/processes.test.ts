import { getPriority } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../simulator/index.js';
import { type ChildRelay, startChildRelay } from '../helpers/childRelay.js';
import { eventually, freePort, sameDeploymentEnv, startTestRelay, type TestRelay } from '../helpers/relay.js';
import { testQueuePrefix } from '../helpers/services.js';

// Real processes, really killed: the worker runs src/main.ts in a child process.
let sim: Simulator;
let api: TestRelay;
const children: ChildRelay[] = [];
const extraRelays: TestRelay[] = [];

beforeAll(async () => {
  sim = createSimulator({ pendingMs: 100, processingMs: 400, webhookRetryDelaysMs: [200, 400, 800] });
  api = await startTestRelay(await sim.listen(0, '127.0.0.1'), { ROLE: 'api', SUBMIT_FENCE_GRACE_MS: '60000', UPSTREAM_MAX_CONCURRENCY: '3' });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(extraRelays.map((r) => r.stop()));
  await api?.stop();
  await sim?.close();
});

const input = { prompt: 'process test', image_urls: ['https://example.com/a.jpg'] };
const post = async () => (await api.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: api.auth, payload: { input } })).json().id as string;
const getEdit = async (id: string) => (await api.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: api.auth })).json();
const completed = (id: string, timeoutMs = 20_000) =>
  eventually(async () => ((await getEdit(id)).status === 'completed' ? true : undefined), timeoutMs, `edit ${id} to complete`);
const jobsFor = (id: string) => [...sim.jobs.values()].filter((j) => String(j.webhookUrl).endsWith(id));

async function childWorker(overrides: Record<string, string> = {}) {
  const child = await startChildRelay(sameDeploymentEnv(api, { ROLE: 'worker', ...overrides }));
  children.push(child);
  return child;
}

async function inProcessWorker() {
  const relay = await startTestRelay(
    api.config.PIXELBYTE_API_URL,
    { ROLE: 'worker', PUBLIC_BASE_URL: api.config.PUBLIC_BASE_URL, SUBMIT_FENCE_GRACE_MS: '60000', UPSTREAM_MAX_CONCURRENCY: '3' },
    { share: api },
  );
  extraRelays.push(relay);
  return relay;
}

describe('worker processes', () => {
  it('a worker SIGKILLed in the middle of a submit: the edit still completes, with one upstream job', async () => {
    const victim = await childWorker();
    // A worker process gives way to API processes on its host (WORKER_NICE, default 10).
    expect(getPriority(victim.process.pid!) - getPriority()).toBe(10);
    sim.nextSubmit({ kind: 'slow', delayMs: 2_500 });
    const id = await post();
    await eventually(
      () => (sim.calls.some((c) => c.path === '/v1/jobs/submit' && String((c.body as { webhookUrl: string }).webhookUrl).endsWith(id)) ? true : undefined),
      10_000,
      'the submit to reach PixelByte',
    );
    victim.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');

    const rescuer = await inProcessWorker();
    await completed(id, 30_000);
    expect(jobsFor(id)).toHaveLength(1);
    const attempts = await api.db.submitAttempt.findMany({ where: { editId: id } });
    expect(attempts).toHaveLength(1); // never sent again: the fence waited and the webhook adopted the job
    expect((await getEdit(id)).upstream.jobId).toBe(jobsFor(id)[0]!.jobId);
    await rescuer.stop();
    extraRelays.splice(extraRelays.indexOf(rescuer), 1);
  });

  it('UPSTREAM_MAX_CONCURRENCY=3 holds across two worker processes', async () => {
    const before = sim.stats().maxUnfinished;
    expect(before).toBeLessThanOrEqual(3);
    const [child] = await Promise.all([childWorker({ WORKER_CONCURRENCY: '5', WORKER_NICE: '0' }), inProcessWorker()]);
    expect(getPriority(child.process.pid!)).toBe(getPriority());
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await post());
    for (const id of ids) await completed(id, 40_000);
    expect(sim.stats().maxUnfinished).toBe(3);
    for (const id of ids) expect(jobsFor(id)).toHaveLength(1);
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM stops taking work, finishes the submit in flight, and exits 0', async () => {
    const port = await freePort();
    const child = await startChildRelay(
      sameDeploymentEnv(api, {
        ROLE: 'all',
        HOST: '127.0.0.1',
        PORT: String(port),
        QUEUE_PREFIX: testQueuePrefix(),
        PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
        SHUTDOWN_TIMEOUT_MS: '15000',
      }),
    );
    children.push(child);
    expect(getPriority(child.process.pid!)).toBe(getPriority()); // ROLE=all: its API shares the process
    sim.nextSubmit({ kind: 'slow', delayMs: 1_500 });
    const res = await fetch(`http://127.0.0.1:${port}/v1/edits`, {
      method: 'POST',
      headers: { ...api.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ input }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await eventually(
      () => (sim.calls.some((c) => c.path === '/v1/jobs/submit' && String((c.body as { webhookUrl: string }).webhookUrl).endsWith(id)) ? true : undefined),
      10_000,
      'the submit',
    );
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(child.output()).toContain('shut down cleanly');
    const edit = await api.db.edit.findUniqueOrThrow({ where: { id } });
    expect(edit.upstreamJobId).toEqual(expect.stringMatching(/^job_/));
    const attempts = await api.db.submitAttempt.findMany({ where: { editId: id } });
    expect(attempts.map((a) => a.outcome)).toEqual(['accepted']);
  });
});
