import type { Logger } from 'pino';
import { withTimeout } from '../../infra/timeout.js';
import type { AttemptVerdict, CallbackDelivery, CallbackRepository } from '../../store/callbacks/repository.js';
import type { Edit } from '../../store/edits/repository.js';
import { type EditResource, toEditResource } from '../editResource.js';
import { parseRetryAfter, retryDelayMs } from './schedule.js';
import { postJson, type SendResult } from './send.js';
import { signCallback } from './signing.js';
import type { CallbackSlots, SlotGrant } from './slots.js';
import { type CallbackUrlPolicy, checkCallbackUrl, type Resolve } from './urlSafety.js';

export interface DeliverCallbackDeps {
  deliveries: Pick<CallbackRepository, 'claimDue' | 'recordAttempt' | 'postpone'>;
  /** Attempts in flight per client and per origin, across every worker (CALLBACK_CONCURRENCY_PER_*). */
  slots: CallbackSlots;
  logger: Logger;
  /** `whsec_…` (CALLBACK_SIGNING_SECRET). */
  signingSecret: string;
  timeoutMs: number;
  /** Multiplies the retry schedule (CALLBACK_RETRY_SCALE). */
  retryScale: number;
  policy: CallbackUrlPolicy;
  resolve?: Resolve;
  /** With a storage bucket: each stored output's `mirror.url`, signed for this attempt. */
  signOutputs?: <T extends EditResource>(resource: T) => Promise<T>;
  now?: () => Date;
}

/** What the queue should do with the job next; the BullMQ wiring turns a retry into a delay. */
export type CallbackDecision = { kind: 'done'; reason: string } | { kind: 'retry'; delayMs: number; reason: string };

/** An attempt holds its delivery this much longer than its own timeout before another worker may try. */
const LEASE_MARGIN_MS = 30_000;
const EXCERPT_CHARS = 200;
/**
 * How long a delivery that found no free slot waits before it asks again. Nothing says when a slot frees (an attempt
 * ends whenever its receiver answers), so this is a poll, paced by how long the longest-held slot has been held:
 * slots taken moments ago by a burst to a quick receiver free soon, while those of a receiver that hangs do not, and
 * a second between asks keeps the cost of a large backlog waiting on one (a claim and a script each) small.
 */
const NO_SLOT_WAIT_MS = { min: 50, max: 1_000 };
/**
 * Redis that does not answer this fast counts as no slot: the delivery waits rather than holding its claim. A slot
 * taken after all is held until its lease runs out.
 */
const SLOT_TIMEOUT_MS = 2_000;

/**
 * Makes one attempt at telling a client that its edit finished, if one is due: a signed Standard Webhooks
 * POST whose `data` is the edit exactly as GET /v1/edits/{id} shows it at that moment. Every attempt is
 * stored with its outcome; failures are retried on the schedule until it runs out (a dead letter). An attempt
 * first takes a slot of the edit's client and of its callbackUrl's origin (slots.ts), so that a receiver that
 * hangs holds up only its own callbacks; a delivery with no free slot waits, its attempts untouched.
 */
export async function deliverCallback(deliveryId: string, deps: DeliverCallbackDeps): Promise<CallbackDecision> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const lease = deps.timeoutMs + LEASE_MARGIN_MS;
  const leaseUntil = new Date(startedAt.getTime() + lease);
  const claim = await deps.deliveries.claimDue(deliveryId, startedAt, leaseUntil);
  switch (claim.kind) {
    case 'missing':
      return { kind: 'done', reason: 'delivery does not exist' };
    case 'over':
      return { kind: 'done', reason: `delivery is ${claim.status}` };
    case 'not-due':
      return { kind: 'retry', delayMs: claim.waitMs, reason: 'next attempt not due yet' };
    case 'taken':
      return { kind: 'retry', delayMs: lease, reason: 'another worker holds this delivery' };
  }
  const { delivery, edit } = claim;

  const attempt = delivery.seriesAttempts + 1;
  let result: Outcome;
  if (edit?.callbackUrl) {
    const slot = await takeSlot(edit.clientId, edit.callbackUrl, lease, deps);
    if (slot.kind !== 'granted') {
      // No attempt is made, so none is counted: the claim is handed back and the delivery asks again shortly.
      const delayMs = noSlotWaitMs(slot.kind === 'full' ? slot.heldForMs : NO_SLOT_WAIT_MS.max);
      const waitedAt = now();
      await deps.deliveries.postpone(delivery.id, delivery.series, leaseUntil, new Date(waitedAt.getTime() + delayMs), waitedAt);
      const reason = slot.kind === 'full' ? `every callback slot of this ${slot.limit} is taken` : `callback slots unavailable: ${slot.error}`;
      deps.logger.debug({ editId: delivery.editId, deliveryId, clientId: edit.clientId, retryInMs: delayMs }, reason);
      return { kind: 'retry', delayMs, reason };
    }
    try {
      result = await send(edit as Edit & { callbackUrl: string }, delivery, deps);
    } finally {
      await withTimeout(slot.release(), SLOT_TIMEOUT_MS, 'callback slot release').catch((err: unknown) =>
        deps.logger.warn({ err, deliveryId }, 'could not release a callback slot; its lease frees it'),
      );
    }
  } else {
    result = { error: 'the edit has no callbackUrl', durationMs: 0 };
  }
  const judgedAt = now();
  const verdict = judge(result, attempt, deps.retryScale, judgedAt);
  await deps.deliveries.recordAttempt(
    delivery.id,
    { series: delivery.series, attempt, startedAt, durationMs: result.durationMs, statusCode: result.statusCode, error: verdict.lastError },
    verdict,
    judgedAt,
  );

  const log = { editId: delivery.editId, deliveryId, series: delivery.series, attempt, statusCode: result.statusCode };
  switch (verdict.status) {
    case 'delivered':
      deps.logger.info(log, 'callback delivered');
      return { kind: 'done', reason: 'delivered' };
    case 'failed':
      deps.logger.warn({ ...log, lastError: verdict.lastError }, 'callback failed for good; redeliver to try again');
      return { kind: 'done', reason: `failed: ${verdict.lastError}` };
    case 'pending': {
      const delayMs = Math.max(0, verdict.nextAttemptAt.getTime() - now().getTime());
      deps.logger.info({ ...log, lastError: verdict.lastError, retryInMs: delayMs }, 'callback attempt failed; will retry');
      return { kind: 'retry', delayMs, reason: verdict.lastError };
    }
  }
}

/** Spread, so that deliveries waiting together do not all ask again at once. */
function noSlotWaitMs(heldForMs: number): number {
  return Math.round(Math.min(NO_SLOT_WAIT_MS.max, Math.max(NO_SLOT_WAIT_MS.min, heldForMs)) * (0.5 + Math.random()));
}

/** A slot of the edit's client and of its callbackUrl's origin, or why there is none. */
async function takeSlot(
  clientId: string,
  callbackUrl: string,
  leaseMs: number,
  deps: DeliverCallbackDeps,
): Promise<SlotGrant | { kind: 'unavailable'; error: string }> {
  try {
    return await withTimeout(deps.slots.acquire({ clientId, callbackUrl }, leaseMs), SLOT_TIMEOUT_MS, 'callback slot');
  } catch (err) {
    return { kind: 'unavailable', error: err instanceof Error ? err.message : String(err) };
  }
}

/** What one attempt came to: the receiver's answer, or why there was none. */
type Outcome = Omit<SendResult, 'bodyExcerpt'> & { bodyExcerpt?: string };

async function send(edit: Edit & { callbackUrl: string }, delivery: CallbackDelivery, deps: DeliverCallbackDeps): Promise<Outcome> {
  const started = performance.now();
  // DNS can change after the edit was accepted: the URL is checked again, and the POST goes only to the checked addresses.
  const check = await checkCallbackUrl(edit.callbackUrl, deps.policy, deps.resolve);
  if (check.kind !== 'allowed') {
    const error = check.kind === 'refused' ? `refused: callbackUrl ${check.reason}` : check.reason;
    return { error, durationMs: Math.round(performance.now() - started) };
  }
  // `timestamp` is when the event happened, the same on every attempt; webhook-timestamp is when this attempt was signed.
  const resource = toEditResource(edit, undefined, delivery);
  const data = deps.signOutputs ? await deps.signOutputs(resource) : resource;
  const body = JSON.stringify({ type: delivery.type, timestamp: delivery.createdAt.toISOString(), data });
  const headers = signCallback(deps.signingSecret, delivery.id, deps.now?.() ?? new Date(), body);
  return postJson(check.url, body, { ...headers }, { timeoutMs: deps.timeoutMs, addresses: check.addresses });
}

/** 2xx delivers; 410 Gone stops; anything else waits for the next step of the schedule, if there is one. */
export function judge(result: Outcome, attempt: number, retryScale: number, now: Date): AttemptVerdict {
  const status = result.statusCode;
  if (status !== undefined && status >= 200 && status < 300) return { status: 'delivered' };
  const lastError = describeFailure(result);
  if (status === 410) return { status: 'failed', lastError };
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(result.headers?.['retry-after'], now) : undefined;
  const delayMs = retryDelayMs(attempt, retryScale, retryAfterMs);
  if (delayMs === null) return { status: 'failed', lastError };
  return { status: 'pending', lastError, nextAttemptAt: new Date(now.getTime() + delayMs) };
}

function describeFailure(result: Outcome): string {
  if (result.statusCode === undefined) return result.error ?? 'no answer';
  const excerpt = (result.bodyExcerpt ?? '').replace(/\s+/g, ' ').trim().slice(0, EXCERPT_CHARS);
  if (result.statusCode >= 300 && result.statusCode < 400) {
    const location = String(result.headers?.location ?? '').slice(0, EXCERPT_CHARS);
    return `HTTP ${result.statusCode}: redirects are not followed${location ? ` (Location: ${location})` : ''}`;
  }
  return `HTTP ${result.statusCode}${excerpt ? `: ${excerpt}` : ''}`;
}
