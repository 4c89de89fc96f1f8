import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { type LocalS3Server, startLocalS3 } from '../../testkit/s3Server.js';
import { fetchEdit, settledEdit } from '../helpers/edits.js';
import { PNG, uploadFile } from '../helpers/images.js';
import { eventually, queuesOf, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

// Outputs mirrored into the user's bucket: a real S3-compatible server (s3rver), the real simulator serving real PNGs,
// a real relay. The CDN forgets each output OUTPUT_TTL_MS after its job completed; the copies outlive it.

const OUTPUT_TTL_MS = 4_000;
const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const download = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
};

interface MirroredOutput {
  url: string;
  width?: number;
  mirror?: { key: string; bytes: number; sha256: string; contentType: string; url?: string } | { error: { code: string; message: string } };
}

let s3: LocalS3Server;
let t: TestRelay;
let sim: Simulator;
let stop: () => Promise<void>;

beforeAll(async () => {
  s3 = await startLocalS3({ bucket: 'mirror-test' });
  ({ t, sim, stop } = await startRelayWithSimulator(
    { ...s3.env({ STORAGE_S3_PREFIX: 'relay/' }), OUTPUT_FETCH_ALLOW_PRIVATE: 'true', MIRROR_BACKOFF_BASE_MS: '100', MIRROR_BACKOFF_MAX_MS: '300' },
    { pendingMs: 50, processingMs: 100, outputTtlMs: OUTPUT_TTL_MS },
  ));
});
afterAll(async () => {
  await stop?.();
  await s3?.close();
});

describe('with a storage bucket', () => {
  it('a private PNG uploaded and edited ends in the bucket, byte-identical to what PixelByte served, through the presigned URL the edit gives', async () => {
    const upload = await uploadFile(t, PNG);
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    const res = await t.relay.app!.inject({
      method: 'POST',
      url: '/v1/edits',
      headers: t.auth,
      payload: { model: PRO, input: { prompt: 'mirror me', image_urls: [`upload:${upload.body.id}`], num_images: '2', size: '2K' } },
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;

    // What the CDN serves, read while it still serves it (the relay's copy is made independently).
    const served = await eventually(
      async () => {
        const job = [...sim.jobs.values()].find((j) => j.status === 'completed' && j.webhookUrl?.endsWith(id));
        if (!job) return undefined;
        return Promise.all([0, 1].map(async (n) => (await download(`${t.config.PIXELBYTE_API_URL}/outputs/${job.jobId}-${n}.png`)).body));
      },
      10_000,
      'the job to complete',
    );

    const edit = await settledEdit(t, id);
    expect(edit.status).toBe('completed');
    const moves = (edit.history as { from: string | null; to: string }[]).filter((h) => h.from !== h.to).map((h) => h.to);
    expect(moves.slice(-2)).toEqual(['storing', 'completed']);

    const outputs = edit.outputs as MirroredOutput[];
    expect(outputs).toHaveLength(2);
    for (const [n, output] of outputs.entries()) {
      const mirror = output.mirror;
      if (!mirror || !('key' in mirror)) throw new Error(`output ${n} not mirrored: ${JSON.stringify(output)}`);
      expect(mirror).toMatchObject({
        key: `relay/${t.clientId}/${id}/${n}.png`,
        contentType: 'image/png',
        bytes: served[n]!.length,
        sha256: sha256(served[n]!),
      });
      expect(served[n]!.length).toBeGreaterThan(1_000_000);
      const copy = await download(mirror.url!);
      expect(copy.status).toBe(200);
      expect(copy.type).toBe('image/png');
      expect(sha256(copy.body)).toBe(mirror.sha256);
    }
  });

  it('the copies outlive the CDN: once PixelByte forgets an output, its mirror URL (signed anew on each read) still serves it', async () => {
    const res = await t.relay.app!.inject({
      method: 'POST',
      url: '/v1/edits',
      headers: t.auth,
      payload: { model: PRO, input: { prompt: 'outlive the CDN', image_urls: ['https://example.com/a.png'], size: '1K' } },
    });
    const id = res.json().id as string;
    const edit = await settledEdit(t, id);
    const [output] = edit.outputs as MirroredOutput[];
    const first = output!.mirror as { url: string; sha256: string };
    await eventually(async () => ((await download(output!.url)).status === 404 ? true : undefined), OUTPUT_TTL_MS + 5_000, 'the CDN to forget the output');

    const again = ((await fetchEdit(t, id)).outputs as MirroredOutput[])[0]!.mirror as { url: string; sha256: string };
    expect(again.url).not.toBe(first.url);
    for (const url of [first.url, again.url]) {
      const copy = await download(url);
      expect(copy.status).toBe(200);
      expect(sha256(copy.body)).toBe(first.sha256);
    }
    // The list shows the same, signed too.
    const list = (await t.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=5', headers: t.auth })).json();
    const listed = (list.edits as { id: string; outputs: MirroredOutput[] }[]).find((e) => e.id === id)!;
    expect((await download((listed.outputs[0]!.mirror as { url: string }).url)).status).toBe(200);
  }, 20_000);
});

describe('an upload kept in the bucket', () => {
  // PixelByte (the simulator) deletes an uploaded file LIFE_MS after its upload; the relay counts it as gone MARGIN_MS before.
  const LIFE_MS = 3_000;
  const MARGIN_MS = 1_000;
  let r: Awaited<ReturnType<typeof startRelayWithSimulator>>;
  beforeAll(async () => {
    r = await startRelayWithSimulator(
      {
        ...s3.env({ STORAGE_S3_PREFIX: 'renew/' }),
        OUTPUT_FETCH_ALLOW_PRIVATE: 'true',
        PIXELBYTE_UPLOAD_LIFE_MS: String(LIFE_MS),
        UPLOAD_EXPIRY_MARGIN_MS: String(MARGIN_MS),
      },
      { pendingMs: 50, processingMs: 100, uploadLifeMs: LIFE_MS },
    );
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('is given to PixelByte again from our copy when its file there is gone by its edit’s turn, instead of failing UPLOAD_EXPIRED', async () => {
    const upload = await uploadFile(r.t, PNG);
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    const row = await r.t.db.upload.findUniqueOrThrow({ where: { id: upload.body.id } });
    expect(row.storageKey).toBe(`renew/${r.t.clientId}/uploads/${upload.body.id}.png`);

    const queues = queuesOf(r.t);
    try {
      await queues.submit.pause();
      const res = await r.t.relay.app!.inject({
        method: 'POST',
        url: '/v1/edits',
        headers: r.t.auth,
        payload: { model: PRO, input: { prompt: 'renew me', image_urls: [`upload:${upload.body.id}`], size: '1K' } },
      });
      expect(res.statusCode, res.body).toBe(202);
      const id = res.json().id as string;
      // PixelByte has deleted the file by now; the edit still waits in the queue.
      await eventually(async () => ((await fetch(upload.body.fileUrl)).status === 404 ? true : undefined), LIFE_MS + 5_000, 'PixelByte to delete the file');

      // Named again now, long past its life less the margin: accepted, since it can be renewed.
      const late = await r.t.relay.app!.inject({
        method: 'POST',
        url: '/v1/edits',
        headers: r.t.auth,
        payload: { model: PRO, input: { prompt: 'renew me too', image_urls: [`upload:${upload.body.id}`], size: '1K' } },
      });
      expect(late.statusCode, late.body).toBe(202);

      await queues.submit.resume();
      for (const editId of [id, late.json().id as string]) {
        const edit = await settledEdit(r.t, editId);
        expect(edit.status, JSON.stringify(edit.error)).toBe('completed');
      }
      const renewed = await r.t.db.upload.findUniqueOrThrow({ where: { id: upload.body.id } });
      expect(renewed.fileUrl).not.toBe(upload.body.fileUrl);
      expect(renewed.expiresAt.getTime()).toBeGreaterThan(row.expiresAt.getTime());
      const submitted = r.sim.calls.filter((c) => c.path === '/v1/jobs/submit').map((c) => (c.body as { input: { image_urls: string[] } }).input.image_urls[0]);
      expect(submitted).not.toContain(upload.body.fileUrl);
      expect(submitted.every((url) => url === renewed.fileUrl)).toBe(true);
      // PixelByte was given the same bytes again.
      const again = await download(renewed.fileUrl);
      expect(sha256(again.body)).toBe(upload.body.sha256);
    } finally {
      await queues.submit.resume();
      await queues.close();
    }
  }, 30_000);
});

describe('a deployment without a bucket', () => {
  it('completes an edit a deployment with one left storing, through the mirror sweeper, with STORAGE_NOT_CONFIGURED', async () => {
    const plain = await startRelayWithSimulator({}, { pendingMs: 50, processingMs: 100 });
    try {
      const { t: p } = plain;
      const edit = await p.edits.create({
        id: randomUUID(),
        model: PRO,
        input: { prompt: 'left storing', image_urls: ['https://example.com/a.png'] },
        clientId: p.clientId,
        estimatedCostMicroCents: 1,
        imagesOrdered: 1,
      });
      await p.edits.move(edit.id, 'submitting', { cause: 'test' });
      // Moved by hand, so nothing enqueued its mirror job: only the sweeper can find the task.
      await p.edits.move(edit.id, 'storing', { cause: 'test', data: { outputs: [{ url: 'https://cdn.example/0.png', type: 'image' }] } });
      const done = await settledEdit(p, edit.id);
      expect(done.status).toBe('completed');
      expect((done.outputs as MirroredOutput[])[0]!.mirror).toMatchObject({ error: { code: 'STORAGE_NOT_CONFIGURED' } });
      expect(p.logs.text()).toMatch(/requeued a mirror that had no live queue entry/);
    } finally {
      await plain.stop();
    }
  });
});
