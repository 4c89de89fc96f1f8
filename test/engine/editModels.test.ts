import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { allModels } from '../../src/catalog/models.js';
import { submitsFor } from '../helpers/edits.js';
import { eventually, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

// Every PixelByte edit model through real HTTP: its schema as GET /v1/models publishes it, its price as the
// estimate and PixelByte (the simulator, with its own independent price table) state it, and its fields as
// they reach PixelByte.

let sim: Simulator;
let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  // A submit timed out on a loaded machine would leave its charge to a webhook: these tests read it from the answer.
  ({ sim, t, stop } = await startRelayWithSimulator({ UPSTREAM_TIMEOUT_MS: '15000' }, { pendingMs: 200, processingMs: 300 }));
});
afterAll(() => stop?.());

const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';
const SEEDREAM = 'bytedance-plus/seedream-v5-lite/image-to-image';
const NANO = 'google/nano-banana/edit-image';
const NANO_PRO = 'google/nano-banana-pro/edit-image';
const GPT = 'openai/gpt-image-1.5/edit-image';
const GPT_MINI = 'openai/gpt-image-1-mini/edit-image';
const RUNWAY = 'runway/gen-4-turbo-image/edit-image';
const img = 'https://example.com/a.jpg';
const urls = (n: number) => Array.from({ length: n }, (_, i) => `https://example.com/${i}.jpg`);
const baseInput = (model: string) => (model.startsWith('openai/') ? { prompt: 'p', image_url: img } : { prompt: 'p', image_urls: [img] });

const inject = (method: 'GET' | 'POST', url: string, payload?: object) => t.relay.app!.inject({ method, url, headers: t.auth, payload });
const storedCount = () => t.db.edit.count({ where: { clientId: t.clientId } });

describe('GET /v1/models', () => {
  it('lists all ten models with their input schema, pricing and typical time', async () => {
    const res = await inject('GET', '/v1/models');
    expect(res.statusCode).toBe(200);
    const { models } = res.json();
    expect(models.map((m: { slug: string }) => m.slug)).toEqual(allModels().map((m) => m.slug));
    expect(models.find((m: { slug: string }) => m.slug === NANO_PRO)).toMatchObject({
      name: 'Nano Banana Pro',
      provider: 'Google',
      pricing: { baseMicroCents: 134_000, unit: 'request', rule: '134000 micro-cents per request, × 1.8 at resolution 4k' },
      typicalSeconds: 30,
      inputSchema: { type: 'object', required: ['prompt', 'image_urls'], additionalProperties: false },
    });
    expect(models.find((m: { slug: string }) => m.slug === SEEDREAM)).toMatchObject({ typicalSeconds: 60, pricing: { unit: 'image', baseMicroCents: 35_000 } });
  });

  it('needs the bearer token', async () => {
    expect((await t.relay.app!.inject({ method: 'GET', url: '/v1/models' })).statusCode).toBe(401);
    expect((await t.relay.app!.inject({ method: 'GET', url: `/v1/models/${NANO}` })).statusCode).toBe(401);
  });

  it('answers one model by its slug, as is or percent-encoded', async () => {
    for (const url of [`/v1/models/${NANO}`, `/v1/models/${encodeURIComponent(NANO)}`]) {
      const res = await inject('GET', url);
      expect(res.statusCode, url).toBe(200);
      expect(res.json()).toMatchObject({ slug: NANO, pricing: { baseMicroCents: 40_000, unit: 'request' } });
    }
  });

  it.each([
    ['an unknown slug', '/v1/models/acme/imaginary/edit'],
    ['a slug with a trailing slash', `/v1/models/${NANO}/`],
    ['no slug', '/v1/models/'],
    ['U+0000 in the slug', '/v1/models/google%00/nano-banana/edit-image'],
    ['an 8 KiB slug', `/v1/models/${'x'.repeat(8192)}`],
  ])('%s → 404 MODEL_NOT_FOUND', async (_name, url) => {
    const res = await inject('GET', url);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ statusCode: 404, code: 'MODEL_NOT_FOUND' });
  });

  it.each([
    ['malformed percent-encoding', '/v1/models/%E0%A4%A'],
    ['an encoded lone surrogate', '/v1/models/%ED%A0%80'],
  ])('%s → 400 INVALID_URL in the one error shape, never a 500', async (_name, url) => {
    const res = await inject('GET', url);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ statusCode: 400, code: 'INVALID_URL', error: 'Bad Request', message: 'The URL is not valid percent-encoded UTF-8' });
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  // The published JSON Schema, run by an independent validator, must agree with the relay's own checks.
  describe('each inputSchema agrees with the relay', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const published = new Map<string, object>();
    beforeAll(async () => {
      for (const m of (await inject('GET', '/v1/models')).json().models) published.set(m.slug, m.inputSchema);
    });
    const valid = (slug: string, input: unknown) => ajv.validate(published.get(slug)!, input);

    it.each(allModels().map((m) => [m.slug, m.example] as const))('%s: its example is valid', (slug, example) => {
      expect(valid(slug, example), JSON.stringify(ajv.errors)).toBe(true);
    });

    it.each([
      [PRO, 'num_images 5', { ...baseInput(PRO), num_images: 5 }],
      [PRO, 'num_images "0"', { ...baseInput(PRO), num_images: '0' }],
      [PRO, 'num_images 2.5', { ...baseInput(PRO), num_images: 2.5 }],
      [PRO, 'five images', { ...baseInput(PRO), image_urls: urls(5) }],
      [PRO, 'size 2k', { ...baseInput(PRO), size: '2k' }],
      [SEEDREAM, 'eleven images', { ...baseInput(SEEDREAM), image_urls: urls(11) }],
      [SEEDREAM, 'resolution 4k', { ...baseInput(SEEDREAM), resolution: '4k' }],
      [NANO, 'resolution 2K', { ...baseInput(NANO), resolution: '2K' }],
      [NANO, 'no image', { ...baseInput(NANO), image_urls: [] }],
      [GPT, 'a list for image_url', { prompt: 'p', image_url: [img] }],
      [GPT_MINI, 'aspect_ratio 16:9', { ...baseInput(GPT_MINI), aspect_ratio: '16:9' }],
      [RUNWAY, 'four images', { ...baseInput(RUNWAY), image_urls: urls(4) }],
      [RUNWAY, 'aspect_ratio wide', { ...baseInput(RUNWAY), aspect_ratio: 'wide' }],
      [NANO_PRO, 'a 5001-character prompt', { ...baseInput(NANO_PRO), prompt: 'x'.repeat(5001) }],
      [NANO_PRO, 'a URL over 2048 characters', { ...baseInput(NANO_PRO), image_urls: [`https://example.com/${'x'.repeat(2048)}`] }],
      [NANO_PRO, 'num_images, which it does not take', { ...baseInput(NANO_PRO), num_images: 1 }],
    ])('%s: %s is invalid, as the relay says', async (slug, _what, input) => {
      expect(valid(slug, input)).toBe(false);
      expect((await inject('POST', '/v1/edits/estimate', { model: slug, input })).json()).toMatchObject({ code: 'INVALID_INPUT' });
    });
  });
});

// PixelByte's price table (../shared/pixelbyte-api.md): every model, every rule and multiplier.
const PRICES: [string, Record<string, unknown>, number][] = [
  [PRO, {}, 45_000],
  [PRO, { num_images: 4 }, 180_000],
  [PRO, { num_images: '3', size: '1K' }, 135_000],
  ['pixelbyte-plus/pixel-image-1.0/image-to-image', { num_images: 2 }, 60_000],
  ['alibaba-plus/wan-2.7/image-to-image', { num_images: '4' }, 120_000],
  ['alibaba-plus/wan-2.7-pro/image-to-image', { num_images: 3 }, 135_000],
  [SEEDREAM, {}, 35_000],
  [SEEDREAM, { num_images: 4, resolution: '1K', aspect_ratio: '16:9' }, 140_000],
  [NANO, {}, 40_000],
  [NANO, { resolution: '2k' }, 40_000],
  [NANO, { resolution: '4k' }, 80_000],
  [NANO_PRO, { resolution: '1k' }, 134_000],
  [NANO_PRO, { resolution: '4k', aspect_ratio: '1:1' }, 241_200],
  [GPT, { aspect_ratio: '2:3' }, 34_000],
  [GPT_MINI, {}, 11_000],
  [RUNWAY, { aspect_ratio: '21:9', style: 'noir', image_urls: urls(3) }, 20_000],
];

describe('POST /v1/edits/estimate', () => {
  it.each(PRICES)('%s with %j is estimated at %i micro-cents, storing nothing', async (model, extra, price) => {
    const before = await storedCount();
    const res = await inject('POST', '/v1/edits/estimate', { model, input: { ...baseInput(model), ...extra } });
    expect(res.statusCode).toBe(200);
    const estimate = res.json();
    expect(estimate).toMatchObject({ model, estimatedCostMicroCents: price, breakdown: { totalMicroCents: price } });
    expect(estimate.breakdown.baseMicroCents * estimate.breakdown.quantity * estimate.breakdown.multiplier).toBeCloseTo(price, 6);
    expect(await storedCount()).toBe(before);
  });

  it('answers what the edit would cost, PixelByte charges and the simulator’s ledger takes, for every row of the table', async () => {
    const chargedBefore = sim.stats().chargedMicroCents;
    const ids: { id: string; price: number }[] = [];
    for (const [model, extra, price] of PRICES) {
      const body = { model, input: { ...baseInput(model), ...extra } };
      const estimate = (await inject('POST', '/v1/edits/estimate', body)).json();
      const accepted = await inject('POST', '/v1/edits', body);
      expect(accepted.statusCode).toBe(202);
      expect(accepted.json().estimatedCostMicroCents).toBe(estimate.estimatedCostMicroCents);
      ids.push({ id: accepted.json().id, price });
    }
    for (const { id, price } of ids) {
      const job = await eventually(() => [...sim.jobs.values()].find((j) => j.webhookUrl?.endsWith(id)), 15_000, `the job of ${id}`);
      expect(job.costMicroCents, job.model).toBe(price);
      const edit = await eventually(async () => (await t.edits.findById(id))?.costMicroCents ?? undefined, 15_000, `the charge of ${id}`);
      expect(edit).toBe(price);
    }
    expect(sim.stats().chargedMicroCents - chargedBefore).toBe(PRICES.reduce((sum, [, , price]) => sum + price, 0));
  });

  it('is refused exactly as POST /v1/edits is', async () => {
    const bodies: unknown[] = [
      { model: 'acme/imaginary-1/edit', input: baseInput(PRO) },
      { input: { ...baseInput(PRO), num_images: 7 } },
      { input: baseInput(PRO), priority: 'urgent' },
      { input: baseInput(PRO), urgency: 'high' },
      { input: baseInput(PRO), callbackUrl: 'not a url' },
      { input: { prompt: 'p\u0000', image_urls: [img] } },
      { input: baseInput(PRO), metadata: 'x' },
      {},
    ];
    for (const body of bodies) {
      const estimate = await inject('POST', '/v1/edits/estimate', body as object);
      const accept = await inject('POST', '/v1/edits', body as object);
      expect(estimate.statusCode, JSON.stringify(body)).toBe(400);
      expect(estimate.json(), JSON.stringify(body)).toEqual(accept.json());
    }
  });

  it('prices an edit whose callbackUrl is checked for shape only (no DNS, no CALLBACKS_DISABLED)', async () => {
    const res = await inject('POST', '/v1/edits/estimate', { input: baseInput(PRO), callbackUrl: 'https://hooks.invalid/never-resolves' });
    expect(res.statusCode).toBe(200);
    expect(res.json().estimatedCostMicroCents).toBe(45_000);
  });

  it('refuses a text body (415), malformed JSON (400 INVALID_JSON) and a missing token (401)', async () => {
    const text = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits/estimate', headers: { ...t.auth, 'content-type': 'text/plain' }, body: '{}' });
    expect(text.json()).toMatchObject({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    const json = await t.relay.app!.inject({
      method: 'POST',
      url: '/v1/edits/estimate',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body: '{"input":',
    });
    expect(json.json()).toMatchObject({ statusCode: 400, code: 'INVALID_JSON' });
    const anonymous = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits/estimate', payload: { input: baseInput(PRO) } });
    expect(anonymous.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
  });
});

describe('each model, end to end', () => {
  it.each(allModels().map((m) => [m.slug, m] as const))(
    '%s: its documented example is accepted and reaches PixelByte with PixelByte’s field names and types',
    async (slug, model) => {
      const res = await inject('POST', '/v1/edits', { model: slug, input: model.example });
      expect(res.statusCode).toBe(202);
      const edit = res.json();
      const expected = model.input.parse(model.example);
      expect(edit.input).toEqual(expected);

      const call = await eventually(() => submitsFor(sim, edit.id).find((c) => c.statusCode === 200), 15_000, `the submit of ${slug}`);
      const sent = call.body as { model: string; input: Record<string, unknown> };
      expect(sent.model).toBe(slug);
      expect(sent.input).toEqual(expected);
      for (const [field, value] of Object.entries(sent.input)) expect(typeof value, field).toBe(typeof expected[field]);
      // PixelByte itself (the simulator validates with its own table) accepted it as it was sent.
      const job = [...sim.jobs.values()].find((j) => j.webhookUrl?.endsWith(edit.id))!;
      expect(job.model).toBe(slug);
    },
  );

  it('sends num_images as a string to the pixel-image models and as a number to Seedream, whichever the client gave', async () => {
    const pixel = (await inject('POST', '/v1/edits', { model: PRO, input: { ...baseInput(PRO), num_images: 2 } })).json();
    const seedream = (await inject('POST', '/v1/edits', { model: SEEDREAM, input: { ...baseInput(SEEDREAM), num_images: '2' } })).json();
    const sent = async (id: string) =>
      ((await eventually(() => submitsFor(sim, id).find((c) => c.statusCode === 200), 15_000, 'the submit')).body as { input: { num_images: unknown } }).input;
    expect((await sent(pixel.id)).num_images).toBe('2');
    expect((await sent(seedream.id)).num_images).toBe(2);
  });
});

// The documented violations, per model, through HTTP: each is INVALID_INPUT with a details path and stores nothing.
const VIOLATIONS: [string, string, string, Record<string, unknown>][] = allModels().flatMap((m) => {
  const base = baseInput(m.slug);
  const rows: [string, string, string, Record<string, unknown>][] = [];
  // Another model's field name: the mistake PixelByte's differing names invite.
  const foreign =
    m.slug === SEEDREAM || m.slug.startsWith('google/') ? { size: '2K' } : m.slug.startsWith('openai/') ? { image_urls: [img] } : { resolution: '2K' };
  rows.push([m.slug, 'a field of another model', 'input', { ...base, ...foreign }]);
  const outOfEnum: Record<string, Record<string, unknown>> = {
    [SEEDREAM]: { resolution: '2k' },
    [NANO]: { resolution: '2K' },
    [NANO_PRO]: { aspect_ratio: '4:3' },
    [GPT]: { aspect_ratio: '16:9' },
    [GPT_MINI]: { aspect_ratio: '9:16' },
    [RUNWAY]: { aspect_ratio: 'widescreen' },
  };
  const enumCase = outOfEnum[m.slug] ?? { size: '4K' };
  rows.push([m.slug, 'a value out of its enum', `input.${Object.keys(enumCase)[0]}`, { ...base, ...enumCase }]);
  const maxImages: Record<string, number> = { [SEEDREAM]: 10, [RUNWAY]: 3 };
  if (m.slug.startsWith('openai/')) rows.push([m.slug, 'a list where one image URL goes', 'input.image_url', { ...base, image_url: [img, img] }]);
  else if (!m.slug.startsWith('google/'))
    rows.push([m.slug, 'too many images', 'input.image_urls', { ...base, image_urls: urls((maxImages[m.slug] ?? 4) + 1) }]);
  else rows.push([m.slug, 'no image', 'input.image_urls', { ...base, image_urls: [] }]);
  rows.push([m.slug, 'a prompt over 5000 characters', 'input.prompt', { ...base, prompt: 'x'.repeat(5001) }]);
  return rows;
});

describe('each model refuses its documented violations', () => {
  it.each(VIOLATIONS)('%s: %s → 400 INVALID_INPUT at %s', async (model, _what, path, input) => {
    const before = await storedCount();
    const res = await inject('POST', '/v1/edits', { model, input });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body).toMatchObject({ statusCode: 400, code: 'INVALID_INPUT', message: `The input is invalid for ${model}` });
    expect(body.details).toContainEqual({ path, message: expect.any(String) });
    expect(await storedCount()).toBe(before);
  });

  it('names the unknown field and the fields the model takes', async () => {
    const res = await inject('POST', '/v1/edits', { model: NANO, input: { ...baseInput(NANO), size: '2K' } });
    expect(res.json().details).toEqual([
      { path: 'input', message: `${NANO} has no field "size"; its fields are prompt, image_urls, aspect_ratio, resolution` },
    ]);
  });
});
