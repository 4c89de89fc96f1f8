import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { dataUrl, JPEG, PNG, pngOfSize, uploadFile } from '../helpers/images.js';
import { startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

// Uploads by source and outcome (in memory), and what is stored (from Postgres), after one of each kind.

let t: TestRelay;
let sim: Simulator;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ t, sim, stop } = await startRelayWithSimulator({ ROLE: 'api', UPLOAD_MAX_BYTES: '4096' }));
});
afterAll(() => stop?.());

/** `name{k="v",…}` → value, labels sorted. */
async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`${t.relay.url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return samples;
}
const key = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;
const edit = (image: string) =>
  t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { input: { prompt: 'p', image_urls: [image] } } });

describe('upload metrics', () => {
  it('count uploads by source, outcome and code, time the stored ones, and read the stored uploads and bytes from Postgres', async () => {
    expect((await uploadFile(t, PNG)).status).toBe(201);
    expect((await uploadFile(t, JPEG, { type: 'image/jpeg' })).status).toBe(201);
    expect((await uploadFile(t, Buffer.from('not an image'))).status).toBe(415);
    expect((await uploadFile(t, pngOfSize(4097))).status).toBe(413);
    const raw = await fetch(`${t.relay.url}/v1/uploads`, { method: 'POST', headers: { ...t.auth, 'content-type': 'text/plain' }, body: PNG });
    expect(raw.status).toBe(415);
    expect((await edit(dataUrl(PNG))).statusCode).toBe(202);
    expect((await edit(dataUrl(JPEG, 'image/png'))).statusCode).toBe(415);
    expect((await edit(dataUrl(pngOfSize(4097)))).statusCode).toBe(413);
    // PixelByte refuses the PUT: its window closed before it came.
    sim.configure({ uploadUrlTtlMs: 0 });
    try {
      expect((await uploadFile(t, PNG)).status).toBe(503);
    } finally {
      sim.configure({ uploadUrlTtlMs: undefined });
    }

    const m = await scrape();
    const uploads = (source: string, outcome: string, code = '') => m.get(key('pixelrelay_uploads_total', { source, outcome, code }));
    expect(uploads('request', 'stored')).toBe(2);
    expect(uploads('request', 'refused', 'UNSUPPORTED_MEDIA_TYPE')).toBe(2);
    expect(uploads('request', 'refused', 'FILE_TOO_LARGE')).toBe(1);
    expect(uploads('request', 'failed', 'UPSTREAM_UNAVAILABLE')).toBe(1);
    expect(uploads('data_url', 'stored')).toBe(1);
    expect(uploads('data_url', 'refused', 'UNSUPPORTED_MEDIA_TYPE')).toBe(1);
    expect(uploads('data_url', 'refused', 'FILE_TOO_LARGE')).toBe(1);
    expect(m.get(key('pixelrelay_upload_duration_seconds_count', { outcome: 'stored' }))).toBe(3);
    expect(m.get(key('pixelrelay_upload_duration_seconds_count', { outcome: 'failed' }))).toBe(1);

    expect(m.get(key('pixelrelay_uploads_stored_total', { content_type: 'image/png' }))).toBe(2);
    expect(m.get(key('pixelrelay_uploads_stored_total', { content_type: 'image/jpeg' }))).toBe(1);
    expect(m.get(key('pixelrelay_uploaded_bytes_total', { content_type: 'image/png' }))).toBe(2 * PNG.length);
    expect(m.get(key('pixelrelay_uploaded_bytes_total', { content_type: 'image/jpeg' }))).toBe(JPEG.length);
  });
});
