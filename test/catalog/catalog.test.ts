import { describe, expect, it } from 'vitest';
import { allModels, findModel } from '../../src/catalog/models.js';
import { toModelResource } from '../../src/catalog/resource.js';

const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';
const img = 'https://example.com/a.jpg';
const urls = (n: number) => Array.from({ length: n }, (_, i) => `https://example.com/${i}.jpg`);

function priceOf(slug: string, input: Record<string, unknown>): number {
  const model = findModel(slug)!;
  return model.pricing.price(model.input.parse(input)).totalMicroCents;
}

function issuesOf(slug: string, input: Record<string, unknown>) {
  const parsed = findModel(slug)!.input.safeParse(input);
  expect(parsed.success, JSON.stringify(input)).toBe(false);
  return parsed.error!.issues.map((i) => i.path.join('.'));
}

describe('the model catalog', () => {
  it('holds all ten of PixelByte’s edit models', () => {
    expect(allModels().map((m) => m.slug)).toEqual([
      'pixelbyte-plus/pixel-image-1.0-pro/image-to-image',
      'pixelbyte-plus/pixel-image-1.0/image-to-image',
      'alibaba-plus/wan-2.7/image-to-image',
      'alibaba-plus/wan-2.7-pro/image-to-image',
      'bytedance-plus/seedream-v5-lite/image-to-image',
      'google/nano-banana/edit-image',
      'google/nano-banana-pro/edit-image',
      'openai/gpt-image-1.5/edit-image',
      'openai/gpt-image-1-mini/edit-image',
      'runway/gen-4-turbo-image/edit-image',
    ]);
  });

  it.each(allModels().map((m) => [m.slug, m] as const))('%s accepts its documented example', (_slug, model) => {
    expect(model.input.safeParse(model.example).success).toBe(true);
  });

  // PixelByte's price table (../shared/pixelbyte-api.md), every rule and multiplier.
  it.each([
    [PRO, { num_images: 1 }, 45_000],
    [PRO, { num_images: 4 }, 180_000],
    [PRO, {}, 45_000],
    ['pixelbyte-plus/pixel-image-1.0/image-to-image', { num_images: '3' }, 90_000],
    ['alibaba-plus/wan-2.7/image-to-image', { num_images: 2 }, 60_000],
    ['alibaba-plus/wan-2.7-pro/image-to-image', { num_images: 4 }, 180_000],
    ['bytedance-plus/seedream-v5-lite/image-to-image', { num_images: 3 }, 105_000],
    ['bytedance-plus/seedream-v5-lite/image-to-image', {}, 35_000],
    ['google/nano-banana/edit-image', { resolution: '1k' }, 40_000],
    ['google/nano-banana/edit-image', { resolution: '2k' }, 40_000],
    ['google/nano-banana/edit-image', { resolution: '4k' }, 80_000],
    ['google/nano-banana-pro/edit-image', {}, 134_000],
    ['google/nano-banana-pro/edit-image', { resolution: '4k' }, 241_200],
    ['openai/gpt-image-1.5/edit-image', { aspect_ratio: '3:2' }, 34_000],
    ['openai/gpt-image-1-mini/edit-image', {}, 11_000],
    ['runway/gen-4-turbo-image/edit-image', { style: 'noir' }, 20_000],
  ])('%s with %j costs %i micro-cents', (slug, extra, expected) => {
    const base = slug.startsWith('openai/') ? { prompt: 'p', image_url: img } : { prompt: 'p', image_urls: [img] };
    expect(priceOf(slug, { ...base, ...extra })).toBe(expected);
  });

  it('sends each model’s fields with PixelByte’s names and types', () => {
    expect(findModel(PRO)!.input.parse({ prompt: ' p ', image_urls: [img], num_images: 2 })).toEqual({
      prompt: 'p',
      image_urls: [img],
      size: '2K',
      num_images: '2',
    });
    expect(findModel('bytedance-plus/seedream-v5-lite/image-to-image')!.input.parse({ prompt: 'p', image_urls: [img], num_images: '2' })).toEqual({
      prompt: 'p',
      image_urls: [img],
      aspect_ratio: '1:1',
      num_images: 2,
    });
    expect(findModel('google/nano-banana/edit-image')!.input.parse({ prompt: 'p', image_urls: [img] })).toEqual({
      prompt: 'p',
      image_urls: [img],
      aspect_ratio: '9:16',
    });
    expect(findModel('openai/gpt-image-1-mini/edit-image')!.input.parse({ prompt: 'p', image_url: img })).toEqual({ prompt: 'p', image_url: img });
  });

  it.each([
    // wrong field name for the model
    [PRO, { prompt: 'p', image_urls: [img], resolution: '2K' }, ['']],
    ['bytedance-plus/seedream-v5-lite/image-to-image', { prompt: 'p', image_urls: [img], size: '2K' }, ['']],
    ['openai/gpt-image-1.5/edit-image', { prompt: 'p', image_urls: [img] }, ['image_url', '']],
    ['google/nano-banana/edit-image', { prompt: 'p', image_url: img }, ['image_urls', '']],
    // value out of its enum (case matters: 1K vs 1k)
    [PRO, { prompt: 'p', image_urls: [img], size: '4K' }, ['size']],
    ['google/nano-banana/edit-image', { prompt: 'p', image_urls: [img], resolution: '2K' }, ['resolution']],
    ['bytedance-plus/seedream-v5-lite/image-to-image', { prompt: 'p', image_urls: [img], resolution: '4k' }, ['resolution']],
    ['bytedance-plus/seedream-v5-lite/image-to-image', { prompt: 'p', image_urls: [img], aspect_ratio: '21:9' }, ['aspect_ratio']],
    ['openai/gpt-image-1-mini/edit-image', { prompt: 'p', image_url: img, aspect_ratio: '16:9' }, ['aspect_ratio']],
    ['runway/gen-4-turbo-image/edit-image', { prompt: 'p', image_urls: [img], aspect_ratio: 'wide' }, ['aspect_ratio']],
    // too many images, or a count out of range
    [PRO, { prompt: 'p', image_urls: urls(5) }, ['image_urls']],
    ['bytedance-plus/seedream-v5-lite/image-to-image', { prompt: 'p', image_urls: urls(11) }, ['image_urls']],
    ['runway/gen-4-turbo-image/edit-image', { prompt: 'p', image_urls: urls(4) }, ['image_urls']],
    ['alibaba-plus/wan-2.7/image-to-image', { prompt: 'p', image_urls: [img], num_images: 5 }, ['num_images']],
    ['bytedance-plus/seedream-v5-lite/image-to-image', { prompt: 'p', image_urls: [img], num_images: 0 }, ['num_images']],
    // too long or empty prompt
    ['google/nano-banana-pro/edit-image', { prompt: 'x'.repeat(5001), image_urls: [img] }, ['prompt']],
    ['openai/gpt-image-1.5/edit-image', { prompt: '   ', image_url: img }, ['prompt']],
  ])('%s refuses %j at %j', (slug, input, paths) => {
    expect(issuesOf(slug, input)).toEqual(expect.arrayContaining(paths));
  });
});

describe('the input schemas GET /v1/models publishes', () => {
  const published = (slug: string) =>
    toModelResource(findModel(slug)!).inputSchema as { properties: Record<string, Record<string, unknown>> } & Record<string, unknown>;

  it('keep the bounds a transform would hide: num_images 1–4, as a number or the string PixelByte wants, "1" by default', () => {
    const pro = published(PRO);
    expect(pro.properties.num_images).toMatchObject({
      default: '1',
      anyOf: [
        { type: 'integer', minimum: 1, maximum: 4 },
        { type: 'string', enum: ['1', '2', '3', '4'] },
      ],
    });
    expect(published('bytedance-plus/seedream-v5-lite/image-to-image').properties.num_images).toMatchObject({ default: 1 });
  });

  it('keep image limits, URL length, enums, defaults and the refusal of unknown fields', () => {
    const pro = published(PRO);
    expect(pro).toMatchObject({ type: 'object', required: ['prompt', 'image_urls'], additionalProperties: false });
    expect(pro).not.toHaveProperty('$schema');
    // At most 2048 characters, but for a data: URL, which is bounded by its decoded size (INLINE_IMAGE_MAX_BYTES).
    expect(pro.properties.image_urls).toMatchObject({
      minItems: 1,
      maxItems: 4,
      items: { type: 'string', format: 'uri', anyOf: [{ maxLength: 2048 }, { pattern: '^[Dd][Aa][Tt][Aa]:' }] },
    });
    expect(pro.properties.prompt).toMatchObject({ type: 'string', minLength: 1, maxLength: 5000 });
    expect(pro.properties.size).toMatchObject({ enum: ['1K', '2K'], default: '2K' });
    const nano = published('google/nano-banana/edit-image');
    expect(nano.properties.resolution).toMatchObject({ enum: ['1k', '2k', '4k'] });
    expect(nano.properties.aspect_ratio).toMatchObject({ default: '9:16' });
    expect(nano.properties.image_urls).not.toHaveProperty('maxItems');
    expect(published('openai/gpt-image-1.5/edit-image').properties.image_url).toMatchObject({ type: 'string', format: 'uri' });
    expect(published('runway/gen-4-turbo-image/edit-image').properties.aspect_ratio).toMatchObject({ pattern: '^\\d{1,2}:\\d{1,2}$' });
  });

  it('price with the rule they show', () => {
    const model = findModel('google/nano-banana-pro/edit-image')!;
    const breakdown = model.pricing.price(model.input.parse({ prompt: 'p', image_urls: [img], resolution: '4k' }));
    expect(breakdown).toEqual({
      baseMicroCents: 134_000,
      unit: 'request',
      rule: toModelResource(model).pricing.rule,
      quantity: 1,
      multiplier: 1.8,
      totalMicroCents: 241_200,
    });
  });
});
