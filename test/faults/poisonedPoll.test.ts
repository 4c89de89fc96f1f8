import { createServer, request as forward, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../simulator/index.js';
import { fetchEdit } from '../helpers/edits.js';
import { eventually, startTestRelay, type TestRelay } from '../helpers/relay.js';

// PixelByte's answer to a status poll with a U+0000 in an output URL: text Postgres cannot store. A forwarder between
// the relay and the simulator rewrites the answers about the jobs named in `poisoned`; all else passes unchanged.
let sim: Simulator;
let forwarder: Server;
let t: TestRelay;
const poisoned = new Set<string>();

beforeAll(async () => {
  sim = createSimulator({ pendingMs: 50, processingMs: 100, webhookRetryDelaysMs: [] });
  const simUrl = await sim.listen(0, '127.0.0.1');
  forwarder = createServer((req, res) => {
    const target = new URL(req.url ?? '/', simUrl);
    const upstream = forward(target, { method: req.method, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        let body = Buffer.concat(chunks).toString('utf8');
        const jobId = /^\/v1\/jobs\/([^/]+)$/.exec(target.pathname)?.[1];
        if (req.method === 'GET' && jobId && poisoned.has(jobId)) body = body.replaceAll('"url":"http', '"url":"\\u0000http');
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'content-length': String(Buffer.byteLength(body)) }).end(body);
      });
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => forwarder.listen(0, '127.0.0.1', resolve));
  const port = (forwarder.address() as { port: number }).port;
  t = await startTestRelay(`http://127.0.0.1:${port}`, { RECONCILE_GRACE_MS: '200', RECONCILE_MAX_INTERVAL_MS: '400' });
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await new Promise((resolve) => forwarder?.close(resolve));
  await sim?.close();
});

const post = async () => {
  const res = await t.relay.app!.inject({
    method: 'POST',
    url: '/v1/edits',
    headers: t.auth,
    payload: { input: { prompt: 'poisoned poll', image_urls: ['https://example.com/a.jpg'] } },
  });
  expect(res.statusCode).toBe(202);
  return res.json().id as string;
};

describe('a status poll whose answer Postgres cannot store', () => {
  it('is refused as an unreadable answer, and the other overdue edits are still reconciled', async () => {
    // Webhooks lost: the reconciler's polls are the only way either edit learns its result.
    sim.configure({ webhook: 'drop' });
    const bad = await post();
    const badJob = await eventually(async () => (await fetchEdit(t, bad)).upstream.jobId ?? undefined, 10_000, 'the first job');
    poisoned.add(badJob);
    const good = await post();
    await eventually(async () => ((await fetchEdit(t, good)).status === 'completed' ? true : undefined), 15_000, 'the second edit');
    // The poisoned one is asked again later, never stored with the character, never a crash of the batch.
    const edit = await fetchEdit(t, bad);
    expect(edit.status).toMatch(/^(submitted|processing)$/);
    await eventually(() => (t.logs.text().includes('status poll failed; will ask again') ? true : undefined), 5_000, 'the refused poll logged');
    poisoned.clear();
    await eventually(
      async () => ((await fetchEdit(t, bad)).status === 'completed' ? true : undefined),
      15_000,
      'the first edit once PixelByte answers cleanly',
    );
  });
});
