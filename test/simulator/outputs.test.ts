import { createHash } from 'node:crypto';
import { crc32, inflateSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeImage } from '../../simulator/outputImages.js';
import { PRO, proInput, type Running, startSimulator } from './helpers.js';

const SEEDREAM = 'bytedance-plus/seedream-v5-lite/image-to-image';
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

interface ParsedPng {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  /** The scanlines as stored: one filter byte per row, then the row's bytes. */
  scanlines: Buffer;
  chunkTypes: string[];
}

/** Reads a PNG the way a strict decoder does: signature, every chunk's CRC, IHDR first, IDATs inflated, IEND last. */
function parsePng(bytes: Buffer): ParsedPng {
  expect([...bytes.subarray(0, 8)]).toEqual(SIGNATURE);
  const chunkTypes: string[] = [];
  const idat: Buffer[] = [];
  let ihdr: Buffer | undefined;
  let at = 8;
  while (at < bytes.length) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.subarray(at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + length);
    expect(bytes.readUInt32BE(at + 8 + length), `CRC of ${type}`).toBe(crc32(data, crc32(type)));
    chunkTypes.push(type.toString('latin1'));
    if (chunkTypes.at(-1) === 'IHDR') ihdr = data;
    if (chunkTypes.at(-1) === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  expect(at).toBe(bytes.length);
  expect(chunkTypes[0]).toBe('IHDR');
  expect(chunkTypes.at(-1)).toBe('IEND');
  if (!ihdr) throw new Error('no IHDR');
  return {
    width: ihdr.readUInt32BE(0),
    height: ihdr.readUInt32BE(4),
    bitDepth: ihdr[8]!,
    colourType: ihdr[9]!,
    scanlines: inflateSync(Buffer.concat(idat)),
    chunkTypes,
  };
}

/** 8-bit RGB of the given size, every row with a valid filter type. */
function expectRgbPng(bytes: Buffer, width: number, height: number): void {
  const png = parsePng(bytes);
  expect(png).toMatchObject({ width, height, bitDepth: 8, colourType: 2 });
  const stride = 1 + width * 3;
  expect(png.scanlines.length).toBe(height * stride);
  for (let y = 0; y < height; y++) expect(png.scanlines[y * stride]).toBeLessThanOrEqual(4);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function download(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

let s: Running;
afterEach(async () => {
  await s.sim.close();
});

async function completedJob(model: string, input: Record<string, unknown>) {
  const { body } = await s.submit({ model, input });
  await s.sim.waitFor(() => s.sim.jobs.get(body.jobId)?.status === 'completed');
  return (await s.api('GET', `/v1/jobs/${body.jobId}`)).body as { jobId: string; outputs: { url: string; thumbnail: string }[] };
}

describe('outputs on the simulated CDN', () => {
  it('are PNGs of the size the job reports, several MB at 2K, with length, type and ETag', async () => {
    s = await startSimulator();
    const job = await completedJob(PRO, proInput({ num_images: '2' }));
    expect(s.sim.jobs.get(job.jobId)).toMatchObject({ width: 2048, height: 2048 });

    const { res, body } = await download(job.outputs[0]!.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    expect(res.headers.get('etag')).toMatch(/^"[\w-]+"$/);
    expectRgbPng(body, 2048, 2048);
    // A real 2K edit weighs megabytes; a body that compressed to nothing would hide a slow download path.
    expect(body.length).toBeGreaterThan(3_000_000);
  });

  it('follow the aspect ratio, and thumbnails are small copies of the same shape', async () => {
    s = await startSimulator();
    const job = await completedJob(SEEDREAM, proInput({ resolution: '2K', aspect_ratio: '16:9' }));
    expectRgbPng((await download(job.outputs[0]!.url)).body, 2048, 1152);
    const thumb = await download(job.outputs[0]!.thumbnail);
    expect(thumb.res.headers.get('content-type')).toBe('image/png');
    expectRgbPng(thumb.body, 256, 144);
  });

  it('are the same bytes on every fetch, and differ between outputs, jobs and thumbnails', async () => {
    s = await startSimulator();
    const a = await completedJob(PRO, proInput({ num_images: '2', size: '1K' }));
    const b = await completedJob(PRO, proInput({ size: '1K' }));
    const first = await download(a.outputs[0]!.url);
    const again = await download(a.outputs[0]!.url);
    expect(sha256(again.body)).toBe(sha256(first.body));
    expect(again.res.headers.get('etag')).toBe(first.res.headers.get('etag'));

    const others = await Promise.all([a.outputs[1]!.url, b.outputs[0]!.url, a.outputs[0]!.thumbnail].map((url) => download(url)));
    const hashes = new Set([first, ...others].map((d) => sha256(d.body)));
    expect(hashes.size).toBe(4);
    expect(new Set([first, ...others].map((d) => d.res.headers.get('etag'))).size).toBe(4);
  });

  it('are drawn from the job id and index alone, not from what a cache happened to keep', async () => {
    const [one, two] = await Promise.all([encodeImage('job_abc/0', 300, 200), encodeImage('job_abc/0', 300, 200)]);
    expect(one.body.equals(two.body)).toBe(true);
    expect(one.etag).toBe(two.etag);
    expect((await encodeImage('job_abc/1', 300, 200)).body.equals(one.body)).toBe(false);
    expectRgbPng(one.body, 300, 200);
  });

  it('answer HEAD with the headers of GET and no body, and a matching If-None-Match with 304', async () => {
    s = await startSimulator();
    const job = await completedJob(PRO, proInput({ size: '1K' }));
    const url = job.outputs[0]!.url;
    const head = await download(url, { method: 'HEAD' });
    expect(head.res.status).toBe(200);
    expect(head.body.length).toBe(0);
    const get = await download(url);
    expect(head.res.headers.get('content-type')).toBe('image/png');
    expect(Number(head.res.headers.get('content-length'))).toBe(get.body.length);
    expect(head.res.headers.get('etag')).toBe(get.res.headers.get('etag'));

    const etag = get.res.headers.get('etag')!;
    const revalidated = await download(url, { headers: { 'if-none-match': etag } });
    expect(revalidated.res.status).toBe(304);
    expect(revalidated.body.length).toBe(0);
    expect((await download(url, { headers: { 'if-none-match': '"something-else"' } })).res.status).toBe(200);
  });

  it('do not exist for unknown or unfinished jobs, past the job’s output count, or under another spelling', async () => {
    s = await startSimulator({ pendingMs: 5_000 });
    const pending = (await s.submit({ model: PRO, input: proInput() })).body.jobId as string;
    await s.sim.close();
    s = await startSimulator();
    const job = await completedJob(PRO, proInput({ num_images: '2', size: '1K' }));
    const base = job.outputs[0]!.url.replace(/\/outputs\/.*$/, '/outputs');
    for (const file of [`${pending}-0.png`, 'job_nope-0.png', `${job.jobId}-2.png`, `${job.jobId}-2-thumb.png`, `${job.jobId}-00.png`, `${job.jobId}.png`]) {
      const { res, body } = await download(`${base}/${file}`);
      expect(res.status, file).toBe(404);
      expect(JSON.parse(body.toString())).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
    }
    expect((await download(`${base}/${job.jobId}-1.png`)).res.status).toBe(200);
  });
});

describe('the outputTtlMs switch', () => {
  it('makes the CDN forget outputs that long after their job completed, while the job still lists them', async () => {
    s = await startSimulator();
    const job = await completedJob(PRO, proInput({ size: '1K' }));
    const { url, thumbnail } = job.outputs[0]!;

    expect((await s.api('POST', '/__sim/config', { outputTtlMs: 60_000 })).status).toBe(200);
    const fresh = await download(url);
    expect(fresh.res.status).toBe(200);
    // A CDN that will drop the object does not tell caches to keep it for a year.
    expect(Number(/max-age=(\d+)/.exec(fresh.res.headers.get('cache-control')!)![1])).toBeLessThanOrEqual(60);

    await s.api('POST', '/__sim/config', { outputTtlMs: 200 });
    const completedAt = s.sim.jobs.get(job.jobId)!.completedAt!.getTime();
    await s.sim.waitFor(() => Date.now() > completedAt + 200);
    for (const target of [url, thumbnail]) {
      const expired = await download(target);
      expect(expired.res.status).toBe(404);
      expect(JSON.parse(expired.body.toString())).toMatchObject({ error: { code: 'NOT_FOUND', message: 'Output expired' } });
      expect((await download(target, { method: 'HEAD' })).res.status).toBe(404);
    }
    expect((await s.api('GET', `/v1/jobs/${job.jobId}`)).body.outputs[0]).toMatchObject({ url, thumbnail });

    // Cleared, outputs are kept for the simulator's life again.
    await s.api('POST', '/__sim/config', { outputTtlMs: null });
    expect((await download(url)).res.status).toBe(200);
    expect(fresh.res.headers.get('etag')).toBe((await download(url)).res.headers.get('etag'));
  });

  it('is validated like the other switches', async () => {
    s = await startSimulator();
    expect((await s.api('POST', '/__sim/config', { outputTtlMs: -1 })).status).toBe(400);
    expect((await s.api('POST', '/__sim/config', { outputTtlMs: 1.5 })).status).toBe(400);
    expect((await s.api('POST', '/__sim/config', { outputTtlMs: 0 })).body.switches).toEqual({ outputTtlMs: 0 });
  });

  it('has a constructor option, which the switch overrides and reset() returns to', async () => {
    s = await startSimulator({ outputTtlMs: 0 });
    const job = await completedJob(PRO, proInput({ size: '1K' }));
    const url = job.outputs[0]!.url;
    expect((await download(url)).res.status).toBe(404);

    s.sim.configure({ outputTtlMs: 60_000 });
    expect((await download(url)).res.status).toBe(200);

    s.sim.reset();
    const after = await completedJob(PRO, proInput({ size: '1K' }));
    expect((await download(after.outputs[0]!.url)).res.status).toBe(404);
  });
});
