import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../src/queue/queues.js';
import { TcpProxy, viaProxy } from '../../testkit/tcpProxy.js';
import { type ChildRelay, startChildRelay } from '../helpers/childRelay.js';
import { eventually, type RelayWithSimulator, sameDeploymentEnv, startRelayWithSimulator } from '../helpers/relay.js';
import { isolatedDatabase, testRedisUrl } from '../helpers/services.js';

// PixelByte creates the job, then answers while the worker's Postgres is cut, and the job's webhook is lost: the
// answer is the only word of the job there will be. Forgetting it means the fence, after its grace, pays again.
const ANSWER_DELAY_MS = 1_500;
const OUTAGE_AFTER_ANSWER_MS = 2_500;
const input = { prompt: 'answer during an outage', image_urls: ['https://example.com/a.jpg'] };
const simulator = { pendingMs: 50, processingMs: 100, webhookRetryDelaysMs: [100, 200] };
// Short fence and reconcile: a forgotten answer is resent within the test, and the dropped webhook is made up by a poll.
const timings = {
  UPSTREAM_TIMEOUT_MS: '10000',
  SUBMIT_FENCE_GRACE_MS: '1000',
  RECONCILE_GRACE_MS: '300',
  RECONCILE_MAX_INTERVAL_MS: '500',
  SWEEP_INTERVAL_MS: '300',
};

let running: { stop(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const r of running.reverse()) await r.stop();
  running = [];
});

async function proxiedDatabase(): Promise<{ url: string; direct: string; proxy: TcpProxy }> {
  const db = await isolatedDatabase();
  const pg = new URL(db.url);
  const proxy = new TcpProxy(pg.hostname, Number(pg.port || 5432));
  await proxy.start();
  running.push({ stop: db.drop }, { stop: () => proxy.stop() });
  return { url: viaProxy(db.url, proxy), direct: db.url, proxy };
}

/** Arms the fault, posts one edit, and returns once PixelByte has created its job (the answer still to come). */
async function postWhileAnswerIsSlow(s: RelayWithSimulator): Promise<string> {
  s.sim.nextSubmit({ kind: 'accept-then-slow', delayMs: ANSWER_DELAY_MS });
  s.sim.configure({ webhook: 'drop' });
  const res = await s.t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: s.t.auth, payload: { input } });
  expect(res.statusCode).toBe(202);
  await s.sim.waitFor(() => s.sim.stats().jobsCreated === 1, 10_000);
  return res.json().id;
}

async function stopChild(child: ChildRelay, signal: NodeJS.Signals): Promise<void> {
  child.kill(signal);
  await child.exited;
}

const answered = (s: RelayWithSimulator) => () => s.sim.calls.some((c) => c.path === '/v1/jobs/submit' && c.statusCode === 200);

async function completedEdit(s: RelayWithSimulator, id: string) {
  return eventually(
    async () => {
      const edit = (await s.t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: s.t.auth })).json();
      return edit.status === 'completed' ? edit : undefined;
    },
    30_000,
    `edit ${id} to complete`,
  );
}

describe("PixelByte's answer arriving while Postgres is cut", () => {
  it('is kept and recorded once Postgres is back: one job, never submitted again', async () => {
    const pg = await proxiedDatabase();
    const s = await startRelayWithSimulator({ DATABASE_URL: pg.url, ...timings }, simulator);
    running.push(s);
    const id = await postWhileAnswerIsSlow(s);
    pg.proxy.cut();
    try {
      await s.sim.waitFor(answered(s), 10_000);
      await new Promise((r) => setTimeout(r, OUTAGE_AFTER_ANSWER_MS));
    } finally {
      pg.proxy.restore();
    }
    const edit = await completedEdit(s, id);
    const [job] = [...s.sim.jobs.values()];
    expect(s.sim.stats().jobsCreated).toBe(1);
    expect(edit.upstream.jobId).toBe(job!.jobId);
    expect(s.sim.calls.filter((c) => c.path === '/v1/jobs/submit')).toHaveLength(1);
    expect(s.t.logs.text()).not.toMatch(/duplicate charge is possible/);
    expect(s.t.logs.text()).toMatch(/the database could not record an accepted submit; retrying/);
    const attempts = await s.t.db.submitAttempt.findMany({ where: { editId: id } });
    expect(attempts.map((a) => [a.outcome, a.upstreamJobId])).toEqual([['accepted', job!.jobId]]);
  });

  it('is held by its run past the retry deadline while Redis is down too, and recorded once Postgres is back', async () => {
    const pg = await proxiedDatabase();
    const redisTarget = new URL(testRedisUrl());
    const redisProxy = new TcpProxy(redisTarget.hostname, Number(redisTarget.port || 6379));
    await redisProxy.start();
    running.push({ stop: () => redisProxy.stop() });
    // The deadline passes while neither store can take the answer: handing it on then would lose it.
    const s = await startRelayWithSimulator(
      { DATABASE_URL: pg.url, REDIS_URL: viaProxy(testRedisUrl(), redisProxy), SUBMIT_ANSWER_RECORD_RETRY_MS: '300', ...timings },
      simulator,
    );
    running.push(s);
    const id = await postWhileAnswerIsSlow(s);
    pg.proxy.cut();
    redisProxy.cut();
    try {
      await s.sim.waitFor(answered(s), 10_000);
      await new Promise((r) => setTimeout(r, 3_000));
      redisProxy.restore();
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      redisProxy.restore();
      pg.proxy.restore();
    }
    const edit = await completedEdit(s, id);
    expect(s.sim.stats().jobsCreated).toBe(1);
    expect(edit.upstream.jobId).toBe([...s.sim.jobs.keys()][0]);
    expect(s.t.logs.text()).toMatch(/could not note an accepted submit in Redis; only this run holds it/);
    expect(s.t.logs.text()).not.toMatch(/duplicate charge is possible/);
  });

  it('outlives the worker that heard it: a worker killed during the outage leaves a note the next one records', async () => {
    const pg = await proxiedDatabase();
    // The API keeps its own connection to Postgres: only the worker's is cut.
    const s = await startRelayWithSimulator({ DATABASE_URL: pg.direct, ROLE: 'api', ...timings }, simulator);
    running.push(s);
    const workerEnv = sameDeploymentEnv(s.t, { ROLE: 'worker', DATABASE_URL: pg.url, SUBMIT_ANSWER_RECORD_RETRY_MS: '60000', ...timings });
    const first: ChildRelay = await startChildRelay(workerEnv);
    running.push({ stop: () => stopChild(first, 'SIGKILL') });
    const redis = new Redis(testRedisUrl());
    running.push({ stop: () => redis.quit() });

    const id = await postWhileAnswerIsSlow(s);
    pg.proxy.cut();
    const noteKey = `${s.t.config.QUEUE_PREFIX}:${QUEUE_NAMES.submit}:answer:${id}`;
    try {
      await s.sim.waitFor(answered(s), 10_000);
      const note = await eventually(async () => (await redis.get(noteKey)) ?? undefined, 5_000, 'the note of the accepted answer');
      expect(JSON.parse(note).response.jobId).toBe([...s.sim.jobs.keys()][0]);
      first.kill('SIGKILL');
      await first.exited;
    } finally {
      pg.proxy.restore();
    }

    const second = await startChildRelay(workerEnv);
    running.push({ stop: () => stopChild(second, 'SIGTERM') });
    const edit = await completedEdit(s, id);
    expect(s.sim.stats().jobsCreated).toBe(1);
    expect(edit.upstream.jobId).toBe([...s.sim.jobs.keys()][0]);
    expect(s.sim.calls.filter((c) => c.path === '/v1/jobs/submit')).toHaveLength(1);
    expect(second.output()).not.toMatch(/duplicate charge is possible/);
    expect(await redis.exists(noteKey)).toBe(0);
  });
});
