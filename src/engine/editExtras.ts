import { z } from 'zod';
import type { CallbackAttempt, CallbackDelivery, SubmitAttempt } from '../generated/prisma/client.js';

/** What GET /v1/edits/{id}?include=attempts,deliveries adds to an edit: how it was sent, and how its callbacks went. */

const timestamp = z.string().describe('ISO 8601, UTC');

export const submitAttemptView = z.object({
  attempt: z.number().int(),
  outcome: z.enum(['in_flight', 'accepted', 'rejected', 'not_sent', 'unknown']).describe('How the call to PixelByte’s submit ended'),
  httpStatus: z.number().int().nullable(),
  upstreamCode: z.string().nullable(),
  message: z.string().nullable(),
  upstreamJobId: z.string().nullable(),
  startedAt: timestamp,
  finishedAt: timestamp.nullable(),
});

export const callbackAttemptView = z.object({
  series: z.number().int().describe('1 for the first delivery, one more for each redelivery'),
  attempt: z.number().int(),
  startedAt: timestamp,
  durationMs: z.number().int(),
  statusCode: z.number().int().nullable().describe('What the callbackUrl answered; null when it did not answer'),
  error: z.string().nullable(),
});

export const callbackDeliveryView = z.object({
  id: z.string().describe('The `webhook-id` of every attempt'),
  type: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  deliveredAt: timestamp.nullable(),
  log: z.array(callbackAttemptView),
});

export type SubmitAttemptView = z.infer<typeof submitAttemptView>;
export type CallbackDeliveryView = z.infer<typeof callbackDeliveryView>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toSubmitAttemptView(a: SubmitAttempt): SubmitAttemptView {
  return {
    attempt: a.attempt,
    outcome: a.outcome,
    httpStatus: a.httpStatus,
    upstreamCode: a.upstreamCode,
    message: a.message,
    upstreamJobId: a.upstreamJobId,
    startedAt: a.startedAt.toISOString(),
    finishedAt: iso(a.finishedAt),
  };
}

export function toCallbackDeliveryView(d: CallbackDelivery, log: CallbackAttempt[]): CallbackDeliveryView {
  return {
    id: d.id,
    type: d.type,
    status: d.status,
    attempts: d.attempts,
    lastError: d.lastError,
    deliveredAt: iso(d.deliveredAt),
    log: log.map((a) => ({
      series: a.series,
      attempt: a.attempt,
      startedAt: a.startedAt.toISOString(),
      durationMs: a.durationMs,
      statusCode: a.statusCode,
      error: a.error,
    })),
  };
}

/** `?include=` as a set of the extras it names; unknown names are ignored, as `history` always was. */
export interface EditIncludes {
  includeHistory?: boolean;
  includeAttempts?: boolean;
  includeDeliveries?: boolean;
}

export function parseIncludes(include: string | undefined): EditIncludes {
  const names = new Set((include ?? '').split(',').map((name) => name.trim()));
  return { includeHistory: names.has('history'), includeAttempts: names.has('attempts'), includeDeliveries: names.has('deliveries') };
}
