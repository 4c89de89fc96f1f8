import { z } from 'zod';
import { storableString } from './safeText.js';

/**
 * The PixelByte edit models pixelrelay accepts. Each validates the caller's input by its own schema and
 * turns it into exactly the `input` PixelByte expects, with the price PixelByte will charge for it.
 */
export interface EditModel<Input = unknown> {
  slug: string;
  /** Parses the caller's input into the normalised upstream input (defaults filled, types as PixelByte wants). */
  input: z.ZodType<Input>;
  priceMicroCents(input: Input): number;
}

export const DEFAULT_MODEL = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';

const httpUrl = storableString()
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
    } catch {
      return false;
    }
  }, 'must be an http(s) URL')
  .pipe(z.string().max(2048, 'must be at most 2048 characters'));

const numImages = z
  .union([z.number().int(), z.string().regex(/^\d+$/, 'must be a whole number from 1 to 4').transform(Number)])
  .pipe(z.number().int().min(1, 'must be from 1 to 4').max(4, 'must be from 1 to 4'))
  .default(1)
  // PixelByte's pixel-image models take num_images as a string.
  .transform((n) => String(n) as '1' | '2' | '3' | '4');

const pixelImageInput = z.strictObject({
  prompt: storableString().trim().min(1, 'must not be empty').max(5000, 'must be at most 5000 characters'),
  image_urls: z.array(httpUrl).min(1, 'needs at least 1 image URL').max(4, 'takes at most 4 image URLs'),
  size: z.enum(['1K', '2K']).default('2K'),
  num_images: numImages,
});
type PixelImageInput = z.infer<typeof pixelImageInput>;

function pixelImageModel(slug: string, perImageMicroCents: number): EditModel<PixelImageInput> {
  return { slug, input: pixelImageInput, priceMicroCents: (input) => perImageMicroCents * Number(input.num_images) };
}

const catalog: ReadonlyMap<string, EditModel<any>> = new Map(
  [
    pixelImageModel('pixelbyte-plus/pixel-image-1.0-pro/image-to-image', 45_000),
    pixelImageModel('pixelbyte-plus/pixel-image-1.0/image-to-image', 30_000),
    pixelImageModel('alibaba-plus/wan-2.7/image-to-image', 30_000),
    pixelImageModel('alibaba-plus/wan-2.7-pro/image-to-image', 45_000),
  ].map((m) => [m.slug, m]),
);

export function findModel(slug: string): EditModel | undefined {
  return catalog.get(slug);
}

export function supportedModels(): string[] {
  return [...catalog.keys()];
}
