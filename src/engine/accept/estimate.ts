import { z } from 'zod';
import { priceBreakdown } from '../../catalog/resource.js';
import { parseEditRequest } from './editRequest.js';

/** POST /v1/edits/estimate's answer. */
export const editEstimate = z.object({
  model: z.string(),
  estimatedCostMicroCents: z.number().int().describe('What POST /v1/edits would store as estimatedCostMicroCents, and PixelByte would charge'),
  breakdown: priceBreakdown,
});
export type EditEstimate = z.infer<typeof editEstimate>;

/**
 * Prices an edit request without storing or sending anything. The body is read exactly as POST /v1/edits reads
 * it; only the callbackUrl's address is not vetted (no DNS lookup for a price), so a body that estimates may
 * still be refused by POST /v1/edits for its callbackUrl (INVALID_CALLBACK_URL, CALLBACKS_DISABLED).
 */
export function estimateEdit(body: unknown): EditEstimate {
  const { model, price } = parseEditRequest(body);
  return { model: model.slug, estimatedCostMicroCents: price.totalMicroCents, breakdown: price };
}
