import { z } from 'zod';
import { AppError } from '../errors.js';
import type { CatalogModel } from './models.js';

/** How an input is priced, as the estimate answers it: the rule, and what this input made of it. */
export const priceBreakdown = z.object({
  baseMicroCents: z.number().int().describe('The model’s base price, per image or per request'),
  unit: z.enum(['image', 'request']),
  rule: z.string().describe('The model’s whole price rule in words'),
  quantity: z.number().int().describe('Images priced (per-image models), or 1'),
  multiplier: z.number().describe('A factor the input switched on (e.g. 4k), or 1'),
  totalMicroCents: z.number().int(),
});

/** A model as GET /v1/models shows it. */
export const modelResource = z.object({
  slug: z.string().describe('PixelByte’s model slug: the `model` of an edit'),
  name: z.string(),
  provider: z.string(),
  inputSchema: z.record(z.string(), z.unknown()).describe('JSON Schema (2020-12) of the `input` this model takes'),
  pricing: z.object({ baseMicroCents: z.number().int(), unit: z.enum(['image', 'request']), rule: z.string() }),
  typicalSeconds: z.number().int().describe('PixelByte’s stated processing time'),
  example: z.record(z.string(), z.unknown()).describe('A valid `input` for this model'),
});
export type ModelResource = z.infer<typeof modelResource>;

export const modelList = z.object({ models: z.array(modelResource) });

/**
 * The model as clients see it. The input schema is what the relay validates with, as JSON Schema of what a
 * client may send (`io: 'input'`: defaults are optional, a count may be a number or a string).
 */
export function toModelResource(model: CatalogModel): ModelResource {
  const { $schema: _dialect, ...inputSchema } = z.toJSONSchema(model.input, { io: 'input', unrepresentable: 'any' });
  return {
    slug: model.slug,
    name: model.name,
    provider: model.provider,
    inputSchema,
    pricing: { baseMicroCents: model.pricing.baseMicroCents, unit: model.pricing.unit, rule: model.pricing.rule },
    typicalSeconds: model.typicalSeconds,
    example: model.example,
  };
}

export const modelNotFound = (slug: string) => new AppError('MODEL_NOT_FOUND', `No model ${slug}`);
