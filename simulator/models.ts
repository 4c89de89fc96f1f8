import { z } from 'zod';

/**
 * PixelByte's edit models as PixelByte itself validates and prices them. Deliberately not shared with
 * src/catalog/models.ts: the simulator is the reference pixelrelay is tested against, so a bug in the
 * relay's own schemas must not be copied into it.
 */
export interface SimModel {
  slug: string;
  input: z.ZodType<Record<string, unknown>>;
  priceMicroCents(input: Record<string, unknown>): number;
  /** How many images a job with this input produces. */
  outputCount(input: Record<string, unknown>): number;
  dimensions(input: Record<string, unknown>): { width: number; height: number };
}

// The docs state a 5000-character limit for the pixel-image models only; the simulator applies it to all.
const prompt = z.string().min(1, 'must not be empty').max(5000, 'must be at most 5000 characters');

const httpUrl = z.string().refine((s) => {
  try {
    const url = new URL(s);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

const imageUrls = (max?: number) => {
  const base = z.array(httpUrl).min(1, 'needs at least 1 image URL');
  return max === undefined ? base : base.max(max, `takes at most ${max} image URLs`);
};

const LONG_SIDE: Record<string, number> = { '1K': 1024, '2K': 2048, '1k': 1024, '2k': 2048, '4k': 4096 };

/** Long side from the resolution, short side from the aspect ratio ("16:9" → 2048×1152). */
function sized(resolution: string, aspectRatio = '1:1'): { width: number; height: number } {
  const long = LONG_SIDE[resolution] ?? 1024;
  const [w, h] = aspectRatio.split(':').map(Number) as [number, number];
  if (!(w > 0 && h > 0)) return { width: long, height: long };
  return w >= h ? { width: long, height: Math.round((long * h) / w) } : { width: Math.round((long * w) / h), height: long };
}

// num_images is a STRING for these models, exactly as PixelByte documents it: a number is rejected.
const pixelImageInput = z.strictObject({
  prompt,
  image_urls: imageUrls(4),
  size: z.enum(['1K', '2K']).default('2K'),
  num_images: z.enum(['1', '2', '3', '4'], { error: 'must be one of the strings "1", "2", "3", "4"' }).default('1'),
});

function pixelImageModel(slug: string, perImage: number): SimModel {
  return {
    slug,
    input: pixelImageInput,
    priceMicroCents: (input) => perImage * Number(input.num_images),
    outputCount: (input) => Number(input.num_images),
    dimensions: (input) => sized(String(input.size)),
  };
}

const seedreamInput = z.strictObject({
  prompt,
  image_urls: imageUrls(10),
  resolution: z.enum(['1K', '2K']).default('2K'),
  aspect_ratio: z.enum(['1:1', '16:9', '9:16', '3:2', '2:3', '4:3', '3:4']).default('1:1'),
  num_images: z.number().int().min(1).max(4).default(1),
});

const nanoBananaInput = z.strictObject({
  prompt,
  image_urls: imageUrls(),
  aspect_ratio: z.enum(['9:16', '16:9', '1:1', '2:3', '3:2']).default('9:16'),
  resolution: z.enum(['1k', '2k', '4k']).default('1k'),
});

function nanoBananaModel(slug: string, perRequest: number, fourKMultiplier: number): SimModel {
  return {
    slug,
    input: nanoBananaInput,
    priceMicroCents: (input) => Math.round(perRequest * (input.resolution === '4k' ? fourKMultiplier : 1)),
    outputCount: () => 1,
    dimensions: (input) => sized(String(input.resolution), String(input.aspect_ratio)),
  };
}

const gptImageInput = z.strictObject({
  prompt,
  image_url: httpUrl,
  aspect_ratio: z.enum(['1:1', '3:2', '2:3']).default('1:1'),
});

function gptImageModel(slug: string, perRequest: number): SimModel {
  return {
    slug,
    input: gptImageInput,
    priceMicroCents: () => perRequest,
    outputCount: () => 1,
    dimensions: (input) => sized('1k', String(input.aspect_ratio)),
  };
}

// Runway's aspect_ratio and style values are not enumerated in the docs: any "W:H" and any style string pass.
const runwayInput = z.strictObject({
  prompt,
  image_urls: imageUrls(3),
  aspect_ratio: z
    .string()
    .regex(/^\d{1,2}:\d{1,2}$/, 'must look like "16:9"')
    .default('1:1'),
  style: z.string().max(100).optional(),
});

const MODELS: readonly SimModel[] = [
  pixelImageModel('pixelbyte-plus/pixel-image-1.0-pro/image-to-image', 45_000),
  pixelImageModel('pixelbyte-plus/pixel-image-1.0/image-to-image', 30_000),
  pixelImageModel('alibaba-plus/wan-2.7/image-to-image', 30_000),
  pixelImageModel('alibaba-plus/wan-2.7-pro/image-to-image', 45_000),
  {
    slug: 'bytedance-plus/seedream-v5-lite/image-to-image',
    input: seedreamInput,
    priceMicroCents: (input) => 35_000 * Number(input.num_images),
    outputCount: (input) => Number(input.num_images),
    dimensions: (input) => sized(String(input.resolution), String(input.aspect_ratio)),
  },
  nanoBananaModel('google/nano-banana/edit-image', 40_000, 2),
  nanoBananaModel('google/nano-banana-pro/edit-image', 134_000, 1.8),
  gptImageModel('openai/gpt-image-1.5/edit-image', 34_000),
  gptImageModel('openai/gpt-image-1-mini/edit-image', 11_000),
  {
    slug: 'runway/gen-4-turbo-image/edit-image',
    input: runwayInput,
    priceMicroCents: () => 20_000,
    outputCount: () => 1,
    dimensions: (input) => sized('1k', String(input.aspect_ratio)),
  },
];

const bySlug: ReadonlyMap<string, SimModel> = new Map(MODELS.map((m) => [m.slug, m]));

/** `provider/model/capability`, lowercase letters, digits, dots and dashes. */
export const MODEL_SLUG_PATTERN = /^[a-z0-9][a-z0-9.-]*\/[a-z0-9][a-z0-9.-]*\/[a-z0-9][a-z0-9.-]*$/;

export function findSimModel(slug: string): SimModel | undefined {
  return bySlug.get(slug);
}

export function simModelSlugs(): string[] {
  return [...bySlug.keys()];
}
