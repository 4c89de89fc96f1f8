import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../simulator/index.js';
import { type LocalS3Server, startLocalS3 } from '../../testkit/s3Server.js';
import { TcpProxy } from '../../testkit/tcpProxy.js';
import { CallbackReceiver } from '../helpers/callbackReceiver.js';
import { type ChildRelay, startChildRelay } from '../helpers/childRelay.js';
import { fetchEdit, settledEdit } from '../helpers/edits.js';
import { eventually, sameDeploymentEnv, startTestRelay, type TestRelay } from '../helpers/relay.js';

// The bucket and the CDN failing under the mirror, for real: the S3 server behind a TCP proxy the tests cut or stall,
// the simulator's CDN forgetting outputs, a worker process killed mid-store. An edit always ends `completed`: with
// every output stored, or at the deadline with `mirror.error` on those that could not be.

const DEADLINE_MS = 4_000;
const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';

type Output = { url: string; mirror?: { key?: string; sha256?: string; url?: string; error?: { code: string; message: string } } };

let s3: LocalS3Server;
let proxy: TcpProxy;
let sim: Simulator;
let receiver: CallbackReceiver;
let api: TestRelay;
let worker: TestRelay | undefined;
const children: ChildRelay[] = [];

beforeAll(async () => {
  s3 = await startLocalS3({ bucket: 'mirror-faults' });
  proxy = new TcpProxy('127.0.0.1', s3.port);
  await proxy.start();
  receiver = await CallbackReceiver.start();
  sim = createSimulator({ pendingMs: 50, processingMs: 100 });
  const simUrl = await sim.listen(0, '127.0.0.1');
  const storage = {
    ...s3.env({ STORAGE_S3_ENDPOINT: `http://127.0.0.1:${proxy.port}` }),
    OUTPUT_FETCH_ALLOW_PRIVATE: 'true',
    OUTPUT_FETCH_TIMEOUT_MS: '20000',
    MIRROR_DEADLINE_MS: String(DEADLINE_MS),
    MIRROR_BACKOFF_BASE_MS: '200',
    MIRROR_BACKOFF_MAX_MS: '500',
    ALLOW_HTTP_CALLBACKS: 'true',
    CALLBACK_ALLOW_PRIVATE: 'true',
  };
  // The API takes the webhooks (and so moves edits to storing); the workers are apart, to be killed.
  api = await startTestRelay(simUrl, { ...storage, ROLE: 'api' });
  worker = await startTestRelay(simUrl, { ...storage, ROLE: 'worker', PUBLIC_BASE_URL: api.config.PUBLIC_BASE_URL }, { share: api });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await worker?.stop();
  await api?.stop();
  await sim?.close();
  await receiver?.close();
  await proxy?.stop();
  await s3?.close();
});

async function post(input: Record<string, unknown>, callbackUrl?: string): Promise<string> {
  const res = await api.relay.app!.inject({
    method: 'POST',
    url: '/v1/edits',
    headers: api.auth,
    payload: {
      model: PRO,
      input: { prompt: 'mirror faults', image_urls: ['https://example.com/a.png'], size: '1K', ...input },
      ...(callbackUrl ? { callbackUrl } : {}),
    },
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
}

const storingFor = (id: string) =>
  eventually(async () => ((await fetchEdit(api, id)).status === 'storing' ? true : undefined), 10_000, `edit ${id} to be storing`);
const task = (id: string) => api.db.mirrorTask.findUnique({ where: { editId: id } });

describe('a store that fails', () => {
  it('is retried with backoff, and completes with every output once the bucket is back', async () => {
    proxy.cut();
    const id = await post({ num_images: '2' });
    await storingFor(id);
    const failing = await eventually(async () => ((await task(id))!.attempts >= 2 ? task(id) : undefined), 10_000, 'two failed tries');
    expect(failing!.lastError).toMatch(/STORE_FAILED/);
    proxy.restore();

    const edit = await settledEdit(api, id);
    expect(edit.status).toBe('completed');
    for (const output of edit.outputs as Output[]) {
      expect(output.mirror?.key).toBeDefined();
      expect((await fetch(output.mirror!.url!)).status).toBe(200);
    }
    expect(await task(id)).toMatchObject({ outputsStored: 2, outputsFailed: 0 });
  });

  it('past the deadline: the edit completes with mirror.error on each output, then its callback is sent', async () => {
    proxy.cut();
    const id = await post({}, `${receiver.url}/mirror-deadline`);
    await storingFor(id);
    // No callback while it is storing: `completed` is what a client is told, and only once.
    expect(receiver.received.filter((r) => r.path === '/mirror-deadline')).toHaveLength(0);
    const edit = await settledEdit(api, id, DEADLINE_MS + 10_000);
    proxy.restore();
    expect(edit.status).toBe('completed');
    const [output] = edit.outputs as Output[];
    expect(output!.mirror).toEqual({ error: { code: 'STORE_FAILED', message: expect.stringContaining('the bucket did not take output 0') } });
    expect(output!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/outputs\//);
    const history = (edit.history as { to: string; at: string; cause: string }[]).filter((h) => h.to === 'storing' || h.to === 'completed');
    expect(history.map((h) => h.to)).toEqual(['storing', 'completed']);
    expect(Date.parse(history[1]!.at) - Date.parse(history[0]!.at)).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(history[1]!.cause).toMatch(/mirror deadline passed: 0 of 1 outputs stored/);
    expect(await task(id)).toMatchObject({ outputsStored: 0, outputsFailed: 1 });

    const callback = await eventually(() => receiver.received.find((r) => r.path === '/mirror-deadline'), 10_000, 'the callback');
    const body = JSON.parse(callback.body) as { type: string; data: { status: string; outputs: Output[] } };
    expect(body.type).toBe('edit.completed');
    expect(body.data.outputs[0]!.mirror!.error!.code).toBe('STORE_FAILED');
  });

  it('an output the CDN has forgotten before it could be stored completes at the deadline as OUTPUT_GONE', async () => {
    sim.configure({ outputTtlMs: 0 });
    try {
      const id = await post({});
      const edit = await settledEdit(api, id, DEADLINE_MS + 10_000);
      expect((edit.outputs as Output[])[0]!.mirror!.error).toMatchObject({ code: 'OUTPUT_GONE', message: expect.stringContaining('HTTP 404') });
    } finally {
      sim.configure({ outputTtlMs: null as unknown as number });
    }
  });
});

describe('the mirror metrics', () => {
  it('count the bytes stored, the outputs stored and failed, and how long edits spent storing', async () => {
    const text = (await api.relay.app!.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    const stored = await api.db.mirrorTask.aggregate({ _sum: { bytesStored: true, outputsStored: true, outputsFailed: true }, _count: { finishedAt: true } });
    expect(value('pixelrelay_mirror_bytes_stored_total')).toBe(Number(stored._sum.bytesStored));
    expect(value('pixelrelay_mirror_bytes_stored_total')).toBeGreaterThan(0);
    expect(value('pixelrelay_mirror_outputs_total{result="stored"}')).toBe(stored._sum.outputsStored);
    expect(value('pixelrelay_mirror_outputs_total{result="failed"}')).toBe(2);
    expect(value('pixelrelay_mirror_duration_seconds_count')).toBe(stored._count.finishedAt);
    expect(value('pixelrelay_mirror_duration_seconds_bucket{le="1"}')).toBeLessThan(value('pixelrelay_mirror_duration_seconds_count'));
  });
});

describe('a worker killed mid-mirror', () => {
  it('leaves the edit to another worker, which stores every output and completes it: nothing stays storing', async () => {
    await worker!.stop();
    worker = undefined;
    const victim = await startChildRelay(sameDeploymentEnv(api, { ROLE: 'worker', WORKER_LOCK_DURATION_MS: '2000', MIRROR_DEADLINE_MS: '60000' }));
    children.push(victim);
    proxy.stall();
    const id = await post({ num_images: '2', size: '2K' });
    await storingFor(id);
    await eventually(() => (proxy.holding > 0 ? true : undefined), 10_000, 'the store to be under way');
    victim.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');
    proxy.drop('reset');
    proxy.resume();

    worker = await startTestRelay(api.config.PIXELBYTE_API_URL, { ...sameDeploymentEnv(api), ROLE: 'worker' }, { share: api });
    const edit = await settledEdit(api, id, 30_000);
    expect(edit.status).toBe('completed');
    for (const output of edit.outputs as Output[]) expect((await fetch(output.mirror!.url!)).status).toBe(200);
    expect(await api.db.edit.count({ where: { status: 'storing' } })).toBe(0);
  }, 60_000);
});
