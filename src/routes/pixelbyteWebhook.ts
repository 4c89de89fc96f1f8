import type { FastifyInstance } from 'fastify';
import { AppError, invalidInput } from '../errors.js';
import { issuesToDetails } from '../edits/schemas.js';
import { receivePixelByteWebhook, type WebhookIntakeDeps } from '../edits/webhookIntake.js';
import { webhookPayload } from '../upstream/schemas.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyPixelByteWebhook } from '../upstream/signature.js';

const SIGNATURE_MESSAGES = {
  MISSING_SIGNATURE: 'X-PixelByte-Signature and X-PixelByte-Timestamp are required',
  MALFORMED_SIGNATURE: 'X-PixelByte-Signature or X-PixelByte-Timestamp is malformed',
  STALE_TIMESTAMP: 'X-PixelByte-Timestamp is outside the accepted window',
  SIGNATURE_MISMATCH: 'The signature does not match the body',
} as const;

/** PixelByte's completion callback. The signature covers the raw bytes, so this scope keeps the body as text. */
export async function pixelbyteWebhookRoutes(app: FastifyInstance, opts: { secret: string; intake: WebhookIntakeDeps }) {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.post<{ Params: { editId: string } }>('/webhooks/pixelbyte/:editId', async (request) => {
    const rawBody = typeof request.body === 'string' ? request.body : '';
    const check = verifyPixelByteWebhook({
      secret: opts.secret,
      rawBody,
      signature: header(request.headers[SIGNATURE_HEADER]),
      timestamp: header(request.headers[TIMESTAMP_HEADER]),
    });
    if (!check.ok) throw new AppError(401, 'INVALID_SIGNATURE', SIGNATURE_MESSAGES[check.reason], { reason: check.reason });

    let json: unknown;
    try {
      json = JSON.parse(rawBody);
    } catch {
      throw new AppError(400, 'INVALID_JSON', 'The body is not valid JSON');
    }
    const payload = webhookPayload.safeParse(json);
    if (!payload.success) throw invalidInput('The webhook payload is not one PixelByte sends', issuesToDetails(payload.error));

    return receivePixelByteWebhook(opts.intake, { editId: request.params.editId, payload: payload.data, rawBody, signedAt: check.signedAt });
  });
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
