import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../../infra/databaseErrors.js';
import { withTimeout } from '../../infra/timeout.js';
import { backoffDelayMs } from '../../shared/backoff.js';
import { type Edit, isUniqueViolation, type SubmitAttempt } from '../../store/edits/repository.js';
import { isAwaitingSubmit, isUncertain } from '../../store/edits/status.js';
import type { PixelByteClient } from '../../upstream/client.js';
import { UpstreamError } from '../../upstream/errors.js';
import { pixelbyteWebhookUrl } from '../../upstream/webhookUrl.js';
import type { EditStore, EditTransitions } from '../transitions.js';
import { resolveUploads, type UploadProblem, type UploadResolverDeps } from '../uploads/references.js';
import type { AcceptedAnswer, AnswerNotes } from './answerNotes.js';
import { findOrphanJob, type OrphanJobLookup } from './findOrphanJob.js';

export interface SubmitEditDeps {
  edits: EditStore;
  transitions: Pick<EditTransitions, 'transition'>;
  pixelbyte: Pick<PixelByteClient, 'submitJob' | 'listJobs'>;
  logger: Logger;
  publicBaseUrl: string;
  /** Keys the per-edit token in the webhook URL (upstream/webhookUrl.ts). */
  webhookUrlKey: Buffer;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long an unanswered submit is given to show up (webhook, adoption) before we dare send it again. */
  fenceGraceMs: number;
  /** This deployment alone uses the PixelByte key (PIXELBYTE_KEY_EXCLUSIVE): PixelByte's job list can then find an unanswered submit's job. */
  keyExclusive?: boolean;
  /** Cap on edits unfinished at PixelByte across all workers (PixelByte's own 429 comes from its per-account limit). */
  maxInFlight?: number;
  /** How long after PixelByte's estimated completion the reconciler first asks about a job whose webhook is missing. */
  reconcileGraceMs: number;
  /** Where PixelByte's acceptance waits when Postgres cannot record it, past a crash of this process. */
  answers: AnswerNotes;
  /** How long this run keeps trying to record an accepted answer before it hands the answer's note to a later run. */
  answerRecordRetryMs: number;
  /** Where the uploads an edit names (`upload:<id>`) are read, to send their file URLs in their place. */
  uploads: UploadResolverDeps;
  now?: () => Date;
}

/** What the queue should do with the job next; the BullMQ wiring turns this into delays and rate limits. */
export type SubmitDecision =
  | { kind: 'done'; reason: string }
  | { kind: 'retry'; delayMs: number; reason: string }
  | { kind: 'pause-queue'; delayMs: number; reason: string }
  /** Every upstream slot is taken: the queue waits a moment, and this edit goes to the back of the line. */
  | { kind: 'wait-for-slot'; delayMs: number; reason: string };

/**
 * Sends one edit to PixelByte, at most once per charge: every call is recorded before it leaves, and a
 * call whose outcome is unknown is never repeated until the grace period has passed with no trace of it.
 * Where the key is ours alone, PixelByte's job list is then searched for the job first (adopted if found).
 */
export async function submitEdit(editId: string, deps: SubmitEditDeps): Promise<SubmitDecision> {
  const now = deps.now ?? (() => new Date());
  // Nearly every edit is queued and was never sent: its first attempt is claimed in one statement, no reads before.
  const first = await deps.edits.claimFirstSubmit(editId, deps.maxInFlight);
  if (first === 'no-slot') return NO_SLOT;
  if (first && first.edit.id !== editId) return sendInPlace(deps, first, now);
  if (first) return send(deps, first.edit, first.attempt, 0, now);

  const edit = await deps.edits.findById(editId);
  if (!edit) return { kind: 'done', reason: 'edit does not exist' };
  if (edit.upstreamJobId || !isAwaitingSubmit(edit.status)) {
    return { kind: 'done', reason: `edit is ${edit.status}` };
  }

  const attempts = await deps.edits.submitAttempts(editId);
  // Read before the fence: an attempt PixelByte answered is a known outcome, whatever the database missed.
  const noted = await deps.answers.recall(editId);
  if (noted) {
    const attempt = attempts.find((a) => String(a.id) === noted.attemptId);
    if (attempt && isUncertainAttempt(attempt)) return keepAnswer(deps, editId, noted, attempt.attempt);
    await deps.answers.forget(editId);
  }
  // Accepted is recorded together with the job on the edit; this only guards against ever sending past it.
  if (attempts.some((a) => a.outcome === 'accepted')) return { kind: 'done', reason: 'PixelByte already accepted this edit' };
  const last = attempts.at(-1);
  const number = (last?.attempt ?? 0) + 1;
  let cause = `submit attempt ${number}`;
  if (last && isUncertainAttempt(last)) {
    const waited = now().getTime() - last.startedAt.getTime();
    if (waited < deps.fenceGraceMs) {
      return { kind: 'retry', delayMs: deps.fenceGraceMs - waited, reason: `attempt ${last.attempt} outcome unknown; waiting for its webhook` };
    }
    // Asked before the attempts-exhausted check: a job found now is better than failing an edit that was paid for.
    const uncertain = attempts.filter(isUncertainAttempt);
    const lookup = deps.keyExclusive ? await findOrphanJob({ edits: deps.edits, pixelbyte: deps.pixelbyte, now }, edit, uncertain) : undefined;
    if (lookup?.kind === 'one') return adoptOrphanJob(deps, editId, lookup, now());
    cause += ` after attempt ${last.attempt} left no trace for ${Math.round(waited / 1000)} s: `;
    if (lookup?.kind === 'none') {
      const numbers = uncertain.map((a) => a.attempt);
      cause += `PixelByte lists no job from attempt${numbers.length > 1 ? 's' : ''} ${numbers.join(', ')}, so no duplicate charge is possible`;
      deps.logger.info({ editId, attempts: numbers }, 'resubmitting after an unknown outcome; PixelByte lists no job from it');
    } else {
      const reason = lookup?.reason;
      cause += `a duplicate charge is possible${reason ? ` (${reason})` : ''}`;
      deps.logger.warn({ editId, attempt: last.attempt, reason }, 'resubmitting after an unknown outcome; a duplicate charge is possible');
    }
  }

  // A 429 is the account's limit, not this edit's fault: it pauses the queue and costs the edit no attempt.
  // (Only PixelByte's own 429: a gateway's may hide a created job, and counts like any unknown outcome.)
  const used = attempts.filter((a) => !(a.outcome === 'rejected' && a.httpStatus === 429)).length;
  if (used >= deps.maxAttempts) {
    await failEdit(deps, editId, 'UPSTREAM_UNAVAILABLE', `PixelByte could not take the edit after ${used} attempts`, last?.upstreamCode ?? undefined);
    return { kind: 'done', reason: 'attempts exhausted' };
  }

  const attempt = await deps.edits.beginSubmitAttempt(editId, number, cause, deps.maxInFlight);
  if (!attempt) return { kind: 'done', reason: 'edit no longer waiting to be submitted' };
  if (attempt === 'no-slot') return NO_SLOT;
  return send(deps, edit, attempt, used, now);
}

/**
 * The slot this job found free went to a fairer edit, another client's or an earlier one: this job sends that edit,
 * whose own job later finds it claimed (an attempt in flight or answered) and, as the fence has it, sends nothing.
 * This job's own edit is still queued and goes back in line for the next free slot; only a pause of the whole queue
 * (PixelByte's 429 for the account) is kept from the sent edit's outcome, the rest is that edit's own job's business.
 */
async function sendInPlace(deps: SubmitEditDeps, picked: { edit: Edit; attempt: SubmitAttempt }, now: () => Date): Promise<SubmitDecision> {
  const decision = await send(deps, picked.edit, picked.attempt, 0, now);
  if (decision.kind === 'pause-queue') return decision;
  return { kind: 'retry', delayMs: 0, reason: `sent edit ${picked.edit.id} in its place (${decision.reason}); waiting for a slot of its own` };
}

/** The attempt is recorded: the request leaves, and its answer is recorded (or the failure decided upon). */
async function send(deps: SubmitEditDeps, edit: Edit, attempt: SubmitAttempt, used: number, now: () => Date): Promise<SubmitDecision> {
  const editId = edit.id;
  let uploads;
  try {
    uploads = await resolveUploads(deps.uploads, edit.clientId, edit.input as Record<string, unknown>, { renew: true });
  } catch (err) {
    // Nothing was sent, and the attempt says so: left in flight, the fence would wait out its grace for a submit never made.
    const message = 'the uploads it names could not be read (or given to PixelByte again from the bucket)';
    await deps.edits.finishSubmitAttempt(attempt.id, { outcome: 'not_sent', message }).catch(() => {});
    throw err;
  }
  if (uploads.kind === 'refused') return failUnsent(deps, editId, attempt, uploads.problems);
  try {
    const response = await deps.pixelbyte.submitJob({
      model: edit.model,
      // The stored input keeps `upload:<id>`; PixelByte is sent the uploads' file URLs.
      input: uploads.input,
      // Carries the edit's token: a signed webhook replayed to another edit's URL is refused (routes/pixelbyteWebhook.ts).
      webhookUrl: pixelbyteWebhookUrl(deps.publicBaseUrl, editId, deps.webhookUrlKey),
    });
    return await keepAnswer(deps, editId, { attemptId: String(attempt.id), answeredAt: now().toISOString(), response });
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    await deps.edits.finishSubmitAttempt(attempt.id, {
      outcome: err.kind,
      httpStatus: err.httpStatus,
      upstreamCode: err.code,
      message: err.message.slice(0, 1000),
    });
    const decision = await decideAfterFailure(deps, editId, used + 1, err);
    if (decision.kind !== 'done') {
      await deps.edits.note(
        editId,
        'submitting',
        `submit attempt ${attempt.attempt} failed (${err.kind}${err.httpStatus ? `, HTTP ${err.httpStatus}` : ''}): ${decision.reason}; next try in ${decision.delayMs} ms`,
        err.code,
      );
    }
    return decision;
  }
}

// Short: a slot frees whenever any job finishes, and the queue stays shut for the whole pause (at 500 ms a backlog
// behind 50 slots of 500 ms jobs drained at 71/s of the 100/s the cap allows; at 100 ms, 87/s). A check costs one
// short transaction per waiting worker slot.
const NO_SLOT_PAUSE_MS = 100;
// Every slot is taken by unfinished jobs: no new edit can go now, so the whole queue waits a moment.
const NO_SLOT: SubmitDecision = { kind: 'wait-for-slot', delayMs: NO_SLOT_PAUSE_MS, reason: 'upstream concurrency cap reached' };

const isUncertainAttempt = (attempt: SubmitAttempt): boolean => isUncertain(attempt.outcome);

async function decideAfterFailure(deps: SubmitEditDeps, editId: string, attempt: number, err: UpstreamError): Promise<SubmitDecision> {
  if (!err.retryable) {
    await failEdit(deps, editId, err.code, err.message, err.code);
    return { kind: 'done', reason: `rejected: ${err.code}` };
  }
  if (err.kind === 'unknown') {
    return { kind: 'retry', delayMs: deps.fenceGraceMs, reason: `outcome unknown (${err.code}); waiting for a webhook before any resubmit` };
  }
  if (err.httpStatus === 429) {
    // Our account is at its concurrency limit: every edit would meet the same answer, so the whole queue waits.
    return { kind: 'pause-queue', delayMs: (err.retryAfterSeconds ?? 30) * 1000, reason: err.code };
  }
  if (attempt >= deps.maxAttempts) {
    await failEdit(deps, editId, 'UPSTREAM_UNAVAILABLE', `PixelByte could not take the edit after ${attempt} attempts (last: ${err.code})`, err.code);
    return { kind: 'done', reason: 'attempts exhausted' };
  }
  return { kind: 'retry', delayMs: backoffDelayMs(attempt, deps.backoffBaseMs, deps.backoffMaxMs), reason: err.code };
}

/**
 * The unanswered attempt did create a job: it becomes the edit's, exactly as if PixelByte's answer had
 * arrived. Its webhook may be long given up, so the reconciler asks about it at once.
 */
async function adoptOrphanJob(deps: SubmitEditDeps, editId: string, orphan: Extract<OrphanJobLookup, { kind: 'one' }>, now: Date): Promise<SubmitDecision> {
  try {
    await deps.edits.recordSubmitAccepted(
      orphan.attempt.id,
      editId,
      { upstreamJobId: orphan.jobId, submittedAt: orphan.createdAt },
      {
        cause: `adopted job ${orphan.jobId}: PixelByte lists it as created during attempt ${orphan.attempt.attempt}, whose answer was lost, and no other edit knows it`,
        data: { upstreamStatus: orphan.status, nextPollAt: now },
      },
    );
  } catch (err) {
    // Another edit took the job between the list and now: it was not ours after all; look again.
    if (!isUniqueViolation(err)) throw err;
    return { kind: 'retry', delayMs: deps.backoffBaseMs, reason: `job ${orphan.jobId} was adopted by another edit meanwhile` };
  }
  deps.logger.info({ editId, jobId: orphan.jobId, attempt: orphan.attempt.attempt }, 'adopted the job of a submit whose answer was lost');
  return { kind: 'done', reason: `adopted ${orphan.jobId} from PixelByte's job list` };
}

/**
 * The edit cannot be sent as it stands: an upload it names is gone by now (or as good as gone, within the margin),
 * or is not its client's. It fails before a byte leaves, so nothing is charged; sending it anyway would have PixelByte
 * charge for a job that cannot read its image. (With a storage bucket, an upload with our own copy is given to PixelByte
 * again instead, in resolveUploads, and never comes here.)
 */
async function failUnsent(deps: SubmitEditDeps, editId: string, attempt: SubmitAttempt, problems: UploadProblem[]): Promise<SubmitDecision> {
  const first = problems[0]!;
  const message = `${first.path} ${first.message}; nothing was sent to PixelByte or charged`;
  await deps.edits.finishSubmitAttempt(attempt.id, { outcome: 'not_sent', message: message.slice(0, 1000) });
  await failEdit(deps, editId, first.code, message);
  return { kind: 'done', reason: `not sent: ${first.code}` };
}

async function failEdit(deps: SubmitEditDeps, editId: string, code: string, message: string, upstreamCode?: string): Promise<void> {
  await deps.transitions.transition(editId, 'failed', {
    cause: `submit failed: ${code}`,
    upstreamCode,
    data: { errorCode: code, errorMessage: message, completedAt: new Date() },
  });
}

// A record slower than this is noted outside Postgres before it finishes: a crash while it hangs loses nothing.
const NOTE_AFTER_MS = 1_000;
const NOTE_TIMEOUT_MS = 2_000;
const RECORD_RETRY_BASE_MS = 250;
const RECORD_RETRY_MAX_MS = 5_000;
// After this run gives up recording, the next one (which reads the note first) comes this much later.
const NEXT_RUN_AFTER_MS = 5_000;

/**
 * PixelByte accepted the attempt: its job is the edit's, and must reach the database. A record that fails or
 * lingers is noted in Redis and retried with backoff for `answerRecordRetryMs`; then, once the note is in Redis, a
 * later run of the job, which reads the note before anything else, takes over. Only the database's unavailability is retried here;
 * any other failure is thrown (after the note), so the job fails loudly and is never resent.
 */
async function keepAnswer(deps: SubmitEditDeps, editId: string, answer: AcceptedAnswer, notedByAttempt?: number): Promise<SubmitDecision> {
  const jobId = answer.response.jobId;
  const recalled = notedByAttempt !== undefined;
  const done: SubmitDecision = { kind: 'done', reason: `submitted as ${jobId}${recalled ? ` (from the note of attempt ${notedByAttempt})` : ''}` };
  // An answer read from its note is in Redis already; a fresh one is noted only if its record fails or lingers.
  let noted: Promise<boolean> | undefined = recalled ? Promise.resolve(true) : undefined;
  const noteOnce = () => {
    noted ??= note(deps, editId, answer);
    return noted;
  };
  const slow = setTimeout(noteOnce, NOTE_AFTER_MS);
  const deadline = Date.now() + deps.answerRecordRetryMs;
  try {
    for (let retry = 1; ; retry++) {
      try {
        await recordAccepted(deps, editId, answer);
        if (noted && (await noted)) await forgetQuietly(deps, editId);
        return done;
      } catch (err) {
        await noteOnce();
        if (!isDatabaseUnavailable(err)) throw err;
        if (Date.now() >= deadline) {
          // Handed on only once the note is in Redis: while only this run holds the answer, it keeps trying itself.
          if (await noted) {
            deps.logger.error({ editId, jobId, err }, 'the database could not record an accepted submit; a later run records it from its note');
            return { kind: 'retry', delayMs: NEXT_RUN_AFTER_MS, reason: `PixelByte accepted job ${jobId}; the database has not recorded it yet` };
          }
          noted = undefined;
        }
        if (retry === 1) deps.logger.warn({ editId, jobId, err }, 'the database could not record an accepted submit; retrying');
      }
      await sleep(Math.min(backoffDelayMs(retry, RECORD_RETRY_BASE_MS, RECORD_RETRY_MAX_MS), Math.max(RECORD_RETRY_BASE_MS, deadline - Date.now())));
    }
  } finally {
    clearTimeout(slow);
  }
}

/** True once the note is in Redis. Redis may be down too: the answer is then held by this run alone, and said so. */
async function note(deps: SubmitEditDeps, editId: string, answer: AcceptedAnswer): Promise<boolean> {
  try {
    await withTimeout(deps.answers.remember(editId, answer), NOTE_TIMEOUT_MS, 'noting the accepted submit');
    return true;
  } catch (err) {
    deps.logger.error({ editId, jobId: answer.response.jobId, err }, 'could not note an accepted submit in Redis; only this run holds it');
    return false;
  }
}

async function forgetQuietly(deps: SubmitEditDeps, editId: string): Promise<void> {
  try {
    await withTimeout(deps.answers.forget(editId), NOTE_TIMEOUT_MS, 'forgetting a recorded note');
  } catch (err) {
    // A stale note is harmless: the next run finds its attempt settled and drops it.
    deps.logger.warn({ editId, err }, 'could not drop the note of a recorded submit');
  }
}

async function recordAccepted(deps: SubmitEditDeps, editId: string, answer: AcceptedAnswer): Promise<void> {
  const { response } = answer;
  const answeredAt = new Date(answer.answeredAt);
  const estimated = response.estimatedCompletionTime ? new Date(response.estimatedCompletionTime) : null;
  // If the webhook never comes, the reconciler asks PixelByte from this moment on.
  const firstPollAt = new Date(Math.max(estimated?.getTime() ?? 0, answeredAt.getTime()) + deps.reconcileGraceMs);
  await deps.edits.recordSubmitAccepted(
    BigInt(answer.attemptId),
    editId,
    {
      upstreamJobId: response.jobId,
      upstreamRequestId: response.requestId ?? null,
      estimatedCompletionAt: estimated,
      costMicroCents: response.costMicroCents ?? null,
      submittedAt: answeredAt,
    },
    { cause: `PixelByte accepted job ${response.jobId}`, data: { upstreamStatus: response.status, nextPollAt: firstPollAt } },
  );
}
