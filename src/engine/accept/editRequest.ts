import { z } from 'zod';
import { type CatalogModel, findModel, supportedModels } from '../../catalog/models.js';
import type { PriceBreakdown } from '../../catalog/pricing.js';
import { AppError, invalidInput } from '../../errors.js';
import type { EditPriority } from '../../store/edits/status.js';
import { createEditBody, issuesToDetails, MAX_DEADLINE_SECONDS } from '../schemas/edits.js';

/** A POST /v1/edits body, checked against its model and priced: everything but the callbackUrl's safety. */
export interface PricedEditRequest {
  model: CatalogModel;
  /** The input exactly as PixelByte takes it: its field names and types, documented defaults filled. */
  input: Record<string, unknown>;
  callbackUrl?: string;
  metadata?: Record<string, unknown>;
  price: PriceBreakdown;
  priority?: EditPriority;
  /** From `deadline` or `expiresInSeconds`. */
  deadlineAt?: Date;
}

/**
 * The one reading of an edit request, shared by accepting an edit and estimating one, so that an estimate
 * is refused exactly when the edit would be and prices exactly what would be sent.
 * Throws INVALID_INPUT (with `details`) or MODEL_NOT_SUPPORTED.
 */
export function parseEditRequest(body: unknown, now = new Date()): PricedEditRequest {
  const parsed = createEditBody.safeParse(body);
  if (!parsed.success) throw invalidInput('The edit request is invalid', issuesToDetails(parsed.error));
  const { model: slug, input, callbackUrl, metadata, priority } = parsed.data;
  const deadlineAt = deadlineOf(parsed.data, now);

  const model = findModel(slug);
  if (!model) {
    throw new AppError('MODEL_NOT_SUPPORTED', `Model ${slug} is not supported`, { supportedModels: supportedModels() });
  }
  const upstreamInput = model.input.safeParse(input);
  if (!upstreamInput.success) {
    throw invalidInput(`The input is invalid for ${slug}`, inputIssues(model, upstreamInput.error));
  }
  return { model, input: upstreamInput.data, callbackUrl, metadata, price: model.pricing.price(upstreamInput.data), priority, deadlineAt };
}

function deadlineOf(body: { deadline?: string; expiresInSeconds?: number }, now: Date): Date | undefined {
  if (body.deadline !== undefined && body.expiresInSeconds !== undefined) {
    throw invalidInput('The edit request is invalid', [{ path: 'expiresInSeconds', message: 'give either deadline or expiresInSeconds, not both' }]);
  }
  if (body.expiresInSeconds !== undefined) return new Date(now.getTime() + body.expiresInSeconds * 1000);
  if (body.deadline === undefined) return undefined;
  const at = new Date(body.deadline);
  if (at.getTime() <= now.getTime()) throw invalidInput('The edit request is invalid', [{ path: 'deadline', message: 'must be in the future' }]);
  if (at.getTime() > now.getTime() + MAX_DEADLINE_SECONDS * 1000) {
    throw invalidInput('The edit request is invalid', [{ path: 'deadline', message: `must be at most ${MAX_DEADLINE_SECONDS} seconds from now` }]);
  }
  return at;
}

/**
 * zod reports unknown fields as one issue at the object itself; the likeliest cause is another model's field
 * name (`size` for `resolution`, `image_urls` for `image_url`), so the message names the fields this model takes.
 */
function inputIssues(model: CatalogModel, error: z.ZodError) {
  const details = issuesToDetails(error, ['input']);
  return error.issues.map((issue, i) =>
    issue.code === 'unrecognized_keys'
      ? { ...details[i]!, message: `${model.slug} has no field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; its fields are ${fieldsOf(model)}` }
      : details[i]!,
  );
}

function fieldsOf(model: CatalogModel): string {
  return model.input instanceof z.ZodObject ? Object.keys(model.input.shape).join(', ') : 'listed by GET /v1/models';
}
