import { z } from 'zod';
import { dataUrlProblem, isDataUrl } from '../shared/dataUrl.js';
import { storableString } from '../shared/safeText.js';
import { isUploadReference, UPLOAD_REFERENCE_PREFIX, uploadIdOf } from '../shared/uploadReference.js';
import { type Pricing, perImage, perRequest } from './pricing.js';

/**
 * The PixelByte edit models pixelrelay offers, as PixelByte documents them (../shared/pixelbyte-api.md): each
 * validates the caller's input by its own schema, turns it into exactly the `input` PixelByte expects (its field
 * names, its types, its documented defaults), and prices it as PixelByte will charge.
 * Deliberately independent of simulator/models.ts: the simulator plays PixelByte, and the relay must not
 * validate against itself.
 */
export interface CatalogModel<Input extends Record<string, unknown> = Record<string, unknown>> {
  slug: string;
  name: string;
  provider: string;
  /** PixelByte's stated processing time. */
  typicalSeconds: number;
  /** Parses the caller's input into the upstream input. */
  input: z.ZodType<Input>;
  pricing: Pricing<Input>;
  /** A documented, valid input: the API reference and the tests use it. */
  example: Record<string, unknown>;
}

export const DEFAULT_MODEL = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';

// PixelByte states 5,000 characters for the pixel-image models and no limit for the others; one limit for all
// keeps a prompt that works on one model working on every other.
const prompt = storableString()
  .trim()
  .min(1, 'must not be empty')
  .max(5000, 'must be at most 5000 characters')
  .describe('What to change in the image(s); 1–5000 characters, trimmed');

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

/** The longest image URL (or `upload:<id>`) an input may carry; a data URL is bounded by its decoded size instead. */
const MAX_IMAGE_URL_CHARS = 2048;

/**
 * A source image: a URL PixelByte fetches; `upload:<id>`, one of the client's uploads, which the submit replaces by
 * the upload's fileUrl (whether the upload exists and is the client's is the accept step's to check); or a small image
 * inline as a base64 `data:` URL, which accept uploads and stores as `upload:<id>` (its size and type are checked
 * there too: this schema only reads its form, so an estimate costs no decoding). Length before anything else, so
 * no 2 MB string is parsed as a URL; the JSON Schema says so by its `anyOf` (a refine is invisible to it).
 */
const imageSource = storableString()
  .superRefine((s, ctx) => {
    if (isDataUrl(s)) {
      const problem = dataUrlProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    } else if (s.length > MAX_IMAGE_URL_CHARS) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_IMAGE_URL_CHARS} characters (send a larger image as data:, or upload it)` });
    } else if (isUploadReference(s)) {
      if (uploadIdOf(s) === null) ctx.addIssue({ code: 'custom', message: `must be ${UPLOAD_REFERENCE_PREFIX}<id>, with the id POST /v1/uploads answered` });
    } else if (!isHttpUrl(s)) {
      ctx.addIssue({ code: 'custom', message: `must be an http(s) URL, ${UPLOAD_REFERENCE_PREFIX}<id> or a data:image/…;base64, URL` });
    }
  })
  .meta({
    format: 'uri',
    anyOf: [{ maxLength: MAX_IMAGE_URL_CHARS }, { pattern: '^[Dd][Aa][Tt][Aa]:' }],
    description: `An http(s) URL PixelByte can fetch (at most ${MAX_IMAGE_URL_CHARS} characters); \`${UPLOAD_REFERENCE_PREFIX}<id>\` naming one of your uploads (POST /v1/uploads); or a JPEG, PNG, WebP or GIF inline as \`data:image/…;base64,…\` (at most INLINE_IMAGE_MAX_BYTES decoded, 256 KiB by default; its type must be what its bytes are), which is uploaded at accept and stored as \`${UPLOAD_REFERENCE_PREFIX}<id>\``,
  });

const imageUrls = (max?: number) => {
  const atLeastOne = z.array(imageSource).min(1, 'needs at least 1 image URL');
  const bounded = max === undefined ? atLeastOne : atLeastOne.max(max, `takes at most ${max} image URLs`);
  return bounded.describe(`Source images, 1${max === undefined ? ' or more' : `–${max}`}`);
};

const ONE_TO_FOUR = 'must be 1, 2, 3 or 4 (a number or a string)';
/**
 * A count from 1 to 4, given as a number or as the string PixelByte's pixel-image models expect (clients differ;
 * PixelByte's models do too). Each model turns it into the type it sends.
 */
const oneToFour = z
  .union([z.number().int(ONE_TO_FOUR).min(1, ONE_TO_FOUR).max(4, ONE_TO_FOUR), z.enum(['1', '2', '3', '4'])], { error: ONE_TO_FOUR })
  .transform(Number);

const SAMPLE_IMAGE = 'https://example.com/photo.jpg';
const SAMPLE_PROMPT = 'Replace the background with a tropical beach at sunset';

// The pixel-image and Wan models take num_images as a STRING: "1"…"4".
const pixelImageInput = z.strictObject({
  prompt,
  image_urls: imageUrls(4),
  size: z.enum(['1K', '2K']).default('2K').describe('Output size'),
  // A prefault (a default input) rather than a default, so the JSON Schema shows it: a transform hides defaults.
  num_images: oneToFour
    .transform((n) => String(n) as '1' | '2' | '3' | '4')
    .prefault('1')
    .describe('Images to generate, each charged; sent to PixelByte as the string it expects ("1"–"4")'),
});

function pixelImageModel(slug: string, name: string, provider: string, baseMicroCents: number): CatalogModel {
  return {
    slug,
    name,
    provider,
    typicalSeconds: 30,
    input: pixelImageInput,
    pricing: perImage(baseMicroCents, (input) => Number(input.num_images)),
    example: { prompt: SAMPLE_PROMPT, image_urls: [SAMPLE_IMAGE], size: '2K', num_images: '2' },
  };
}

// Seedream takes num_images as a NUMBER, and `resolution` rather than `size`.
const seedreamInput = z.strictObject({
  prompt,
  image_urls: imageUrls(10),
  resolution: z.enum(['1K', '2K']).optional().describe('Output resolution (upper-case K); PixelByte picks when absent'),
  aspect_ratio: z.enum(['1:1', '16:9', '9:16', '3:2', '2:3', '4:3', '3:4']).default('1:1'),
  num_images: oneToFour.prefault(1).describe('Images to generate, each charged; sent to PixelByte as a number'),
});

// Lower-case resolutions, and a price per request that 4k multiplies.
const nanoBananaInput = z.strictObject({
  prompt,
  image_urls: imageUrls(),
  aspect_ratio: z.enum(['9:16', '16:9', '1:1', '2:3', '3:2']).default('9:16'),
  resolution: z.enum(['1k', '2k', '4k']).optional().describe('Output resolution (lower-case k); 4k multiplies the price'),
});

function nanoBananaModel(slug: string, name: string, baseMicroCents: number, fourK: number): CatalogModel {
  return {
    slug,
    name,
    provider: 'Google',
    typicalSeconds: 30,
    input: nanoBananaInput,
    pricing: perRequest(baseMicroCents, { when: (input) => input.resolution === '4k', multiplier: fourK, rule: `× ${fourK} at resolution 4k` }),
    example: { prompt: SAMPLE_PROMPT, image_urls: [SAMPLE_IMAGE], aspect_ratio: '16:9', resolution: '2k' },
  };
}

// One source image, as a single string `image_url`.
const gptImageInput = z.strictObject({
  prompt,
  image_url: imageSource.describe('The one source image (one URL, upload:<id> or data: URL, not a list)'),
  aspect_ratio: z.enum(['1:1', '3:2', '2:3']).optional(),
});

function gptImageModel(slug: string, name: string, baseMicroCents: number): CatalogModel {
  return {
    slug,
    name,
    provider: 'OpenAI',
    typicalSeconds: 30,
    input: gptImageInput,
    pricing: perRequest(baseMicroCents),
    example: { prompt: SAMPLE_PROMPT, image_url: SAMPLE_IMAGE, aspect_ratio: '3:2' },
  };
}

// PixelByte enumerates neither Runway's aspect ratios nor its styles.
const runwayInput = z.strictObject({
  prompt,
  image_urls: imageUrls(3),
  aspect_ratio: z
    .string()
    .regex(/^\d{1,2}:\d{1,2}$/, 'must look like "16:9"')
    .optional()
    .describe('Width:height, e.g. "16:9" (PixelByte does not list the ratios Runway takes)'),
  style: storableString().max(100, 'must be at most 100 characters').optional().describe('A style name, passed through to Runway'),
});

const MODELS: readonly CatalogModel[] = [
  pixelImageModel('pixelbyte-plus/pixel-image-1.0-pro/image-to-image', 'Pixel Image 1.0 Pro', 'PixelByte+', 45_000),
  pixelImageModel('pixelbyte-plus/pixel-image-1.0/image-to-image', 'Pixel Image 1.0', 'PixelByte+', 30_000),
  pixelImageModel('alibaba-plus/wan-2.7/image-to-image', 'Wan 2.7', 'Alibaba+', 30_000),
  pixelImageModel('alibaba-plus/wan-2.7-pro/image-to-image', 'Wan 2.7 Pro', 'Alibaba+', 45_000),
  {
    slug: 'bytedance-plus/seedream-v5-lite/image-to-image',
    name: 'Seedream v5 Lite',
    provider: 'ByteDance+',
    typicalSeconds: 60,
    input: seedreamInput,
    pricing: perImage(35_000, (input) => Number(input.num_images)),
    example: { prompt: SAMPLE_PROMPT, image_urls: [SAMPLE_IMAGE], resolution: '2K', aspect_ratio: '16:9', num_images: 2 },
  },
  nanoBananaModel('google/nano-banana/edit-image', 'Nano Banana', 40_000, 2),
  nanoBananaModel('google/nano-banana-pro/edit-image', 'Nano Banana Pro', 134_000, 1.8),
  gptImageModel('openai/gpt-image-1.5/edit-image', 'GPT Image 1.5', 34_000),
  gptImageModel('openai/gpt-image-1-mini/edit-image', 'GPT Image 1 Mini', 11_000),
  {
    slug: 'runway/gen-4-turbo-image/edit-image',
    name: 'Gen-4 Turbo Image',
    provider: 'Runway',
    typicalSeconds: 30,
    input: runwayInput,
    pricing: perRequest(20_000),
    example: { prompt: SAMPLE_PROMPT, image_urls: [SAMPLE_IMAGE], aspect_ratio: '16:9', style: 'cinematic' },
  },
];

const bySlug: ReadonlyMap<string, CatalogModel> = new Map(MODELS.map((m) => [m.slug, m]));

export function findModel(slug: string): CatalogModel | undefined {
  return bySlug.get(slug);
}

export function allModels(): readonly CatalogModel[] {
  return MODELS;
}

export function supportedModels(): string[] {
  return MODELS.map((m) => m.slug);
}
