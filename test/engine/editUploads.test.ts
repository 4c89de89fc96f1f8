import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import type { EditQueues } from '../../src/queue/queues.js';
import { createClient, TEST_ADMIN_TOKEN } from '../helpers/clients.js';
import { fetchEdit, settledEdit, submitsFor } from '../helpers/edits.js';
import { JPEG, PNG, pngOfSize, uploadFile } from '../helpers/images.js';
import { eventually, queuesOf, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

// PixelByte deletes a file 60 minutes after its upload; here the simulator deletes it after LIFE_MS, and the relay is
// told so (PIXELBYTE_UPLOAD_LIFE_MS), with a margin of MARGIN_MS: an upload is usable for LIFE_MS - MARGIN_MS.
const LIFE_MS = 4_000;
const MARGIN_MS = 1_000;
const MAX_BYTES = 4_096;

let t: TestRelay;
let sim: Simulator;
let stop: () => Promise<void>;
let queues: EditQueues;

beforeAll(async () => {
  ({ t, sim, stop } = await startRelayWithSimulator(
    {
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      PIXELBYTE_UPLOAD_LIFE_MS: String(LIFE_MS),
      UPLOAD_EXPIRY_MARGIN_MS: String(MARGIN_MS),
      UPLOAD_MAX_BYTES: String(MAX_BYTES),
    },
    { uploadLifeMs: LIFE_MS, pendingMs: 50, processingMs: 100 },
  ));
  queues = queuesOf(t);
});
afterAll(async () => {
  await queues?.close();
  await stop?.();
});
afterEach(async () => {
  await queues.submit.resume();
});

const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';

async function uploaded(file = PNG, auth = t.auth) {
  const res = await uploadFile(t, file, { type: file === JPEG ? 'image/jpeg' : 'image/png', auth });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; fileUrl: string; expiresAt: string };
}

const post = (body: unknown, url = '/v1/edits', auth = t.auth) => t.relay.app!.inject({ method: 'POST', url, headers: auth, payload: body as object });
const editCount = () => t.db.edit.count({ where: { clientId: t.clientId } });

describe('an edit naming upload:<id>', () => {
  it('is stored as sent and submitted with the upload’s fileUrl in its place, in order', async () => {
    const a = await uploaded();
    const b = await uploaded(JPEG);
    const input = { prompt: 'two of mine and one of theirs', image_urls: [`upload:${a.id}`, 'https://example.com/x.png', `upload:${b.id.toUpperCase()}`] };
    const res = await post({ model: PRO, input });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().input.image_urls).toEqual(input.image_urls);

    const edit = await settledEdit(t, res.json().id);
    expect(edit.status).toBe('completed');
    expect(edit.input.image_urls).toEqual(input.image_urls);
    const [submit] = submitsFor(sim, edit.id);
    expect((submit!.body as { input: { image_urls: string[] } }).input.image_urls).toEqual([a.fileUrl, 'https://example.com/x.png', b.fileUrl]);
  });

  it('works for a model that takes one image_url', async () => {
    const a = await uploaded();
    const res = await post({ model: 'openai/gpt-image-1-mini/edit-image', input: { prompt: 'one', image_url: `upload:${a.id}` } });
    expect(res.statusCode, res.body).toBe(202);
    const edit = await settledEdit(t, res.json().id);
    expect(edit.status).toBe('completed');
    expect((submitsFor(sim, edit.id)[0]!.body as { input: { image_url: string } }).input.image_url).toBe(a.fileUrl);
  });

  it.each([
    ['an upload that does not exist', () => `upload:${randomUUID()}`],
    ['another client’s upload', async () => `upload:${(await uploaded(PNG, (await createClient(t)).auth)).id}`],
  ])('refuses %s with 400 UNKNOWN_UPLOAD naming the field; nothing stored', async (_what, reference) => {
    const before = await editCount();
    const res = await post({ input: { prompt: 'p', image_urls: ['https://example.com/a.png', await reference()] } });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'UNKNOWN_UPLOAD',
      message: expect.stringMatching(/^input\.image_urls\.1 names upload /),
      details: [{ path: 'input.image_urls.1', message: expect.any(String) }],
    });
    expect(await editCount()).toBe(before);
  });

  it.each([['upload:'], ['upload:not-an-id'], [`upload:${randomUUID()}x`], [`upload: ${randomUUID()}`]])(
    'refuses the malformed reference %j with 400 INVALID_INPUT at its field',
    async (reference) => {
      const res = await post({ model: 'openai/gpt-image-1.5/edit-image', input: { prompt: 'p', image_url: reference } });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ code: 'INVALID_INPUT', details: [{ path: 'input.image_url', message: expect.stringContaining('upload:<id>') }] });
    },
  );

  it('is priced by the estimate from its shape alone: no upload is looked up', async () => {
    const res = await post({ input: { prompt: 'p', image_urls: [`upload:${randomUUID()}`] } }, '/v1/edits/estimate');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().estimatedCostMicroCents).toBe(45_000);
  });

  it('refuses an upload with less than UPLOAD_EXPIRY_MARGIN_MS left with 400 UPLOAD_EXPIRED', async () => {
    const a = await uploaded();
    await new Promise((r) => setTimeout(r, Date.parse(a.expiresAt) - MARGIN_MS - Date.now() + 50));
    const before = await editCount();
    const res = await post({ input: { prompt: 'p', image_urls: [`upload:${a.id}`] } });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'UPLOAD_EXPIRED', details: [{ path: 'input.image_urls.0' }] });
    expect(await editCount()).toBe(before);
  });

  it('fails with UPLOAD_EXPIRED, nothing sent and nothing charged, when its upload expired while it waited to be submitted', async () => {
    const a = await uploaded();
    await queues.submit.pause();
    const res = await post({ input: { prompt: 'waits behind a paused queue', image_urls: [`upload:${a.id}`] } });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const charged = sim.stats().chargedMicroCents;

    // Accepted with time to spare; past its life less the margin by the time a worker may take it.
    await new Promise((r) => setTimeout(r, Date.parse(a.expiresAt) - MARGIN_MS - Date.now() + 50));
    expect((await fetchEdit(t, id)).status).toBe('queued');
    await queues.submit.resume();

    const edit = await settledEdit(t, id);
    expect(edit).toMatchObject({ status: 'failed', error: { code: 'UPLOAD_EXPIRED', message: expect.stringContaining('nothing was sent') } });
    expect(edit.input.image_urls).toEqual([`upload:${a.id}`]);
    expect(submitsFor(sim, id)).toHaveLength(0);
    expect(sim.stats().chargedMicroCents).toBe(charged);
    expect(await t.db.submitAttempt.findMany({ where: { editId: id } })).toMatchObject([{ outcome: 'not_sent' }]);
    expect(edit.history.at(-1)).toMatchObject({ from: 'submitting', to: 'failed', cause: 'submit failed: UPLOAD_EXPIRED' });
  });

  it('an Idempotency-Key repeat is answered as the first request was, even once the upload is too old for a new edit', async () => {
    const a = await uploaded();
    const headers = { ...t.auth, 'idempotency-key': `upload-replay-${randomUUID()}` };
    const body = { input: { prompt: 'replayed', image_urls: [`upload:${a.id}`] } };
    const first = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers, payload: body });
    expect(first.statusCode).toBe(202);
    await new Promise((r) => setTimeout(r, Date.parse(a.expiresAt) - MARGIN_MS - Date.now() + 50));
    const repeat = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers, payload: body });
    expect(repeat.statusCode).toBe(202);
    expect(repeat.headers['idempotent-replayed']).toBe('true');
    expect(repeat.json().id).toBe(first.json().id);
  });
});

describe('an upload on a relay with UPLOAD_MAX_BYTES lowered', () => {
  it('takes UPLOAD_MAX_BYTES and refuses a byte more with 413 FILE_TOO_LARGE, naming the limit', async () => {
    expect((await uploadFile(t, pngOfSize(MAX_BYTES))).status).toBe(201);
    const res = await uploadFile(t, pngOfSize(MAX_BYTES + 1));
    expect(res).toMatchObject({ status: 413, body: { code: 'FILE_TOO_LARGE', details: { maxBytes: MAX_BYTES } } });
  });

  it('keeps uploads expiring after the life it was told: the file at PixelByte is gone by then', async () => {
    const a = await uploaded();
    await eventually(async () => ((await fetch(a.fileUrl)).status === 404 ? true : undefined), LIFE_MS + 2_000, 'the simulator to delete the file');
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(a.expiresAt));
  });
});
