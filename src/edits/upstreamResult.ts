import type { Prisma } from '../generated/prisma/client.js';
import { isUniqueViolation, MAY_ADOPT_A_JOB, type EditRepository, type TransitionChange, type TransitionResult } from './repository.js';
import type { EditOutput } from './resource.js';

/** What PixelByte says became of a job, whether we heard it from a webhook or asked for it. */
export type UpstreamResult =
  | { jobId: string; status: 'processing' }
  | { jobId: string; status: 'completed'; outputs: EditOutput[]; completedAt?: Date }
  | { jobId: string; status: 'failed'; code: string; message: string; completedAt?: Date }
  | { jobId: string; status: 'cancelled'; completedAt?: Date };

/** PixelByte's error code when it reports a failure without one. */
const DEFAULT_FAILURE_CODE = 'GENERATION_FAILED';

/** A failed result from what PixelByte said, in a webhook or a job's status alike. */
export function failedResult(jobId: string, error: { code: string; message?: string } | null | undefined, completedAt?: string | null): UpstreamResult {
  return { jobId, status: 'failed', code: error?.code ?? DEFAULT_FAILURE_CODE, message: error?.message ?? '', completedAt: upstreamDate(completedAt) };
}

/** PixelByte's ISO timestamps, or undefined when absent or unreadable (we then use our own clock). */
export function upstreamDate(value: string | null | undefined): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Why a result was not applied although the state machine would have allowed it. */
export type ApplyRefusal = 'foreign-job' | 'job-of-another-edit';
export type ApplyResult = TransitionResult | { moved: false; edit: null; refused: ApplyRefusal };

/**
 * Brings an edit up to date with its upstream job through the state machine, so a webhook, a poll and a
 * late submit response can arrive in any order and any number of times: only forward moves happen.
 */
export async function applyUpstreamResult(edits: EditRepository, editId: string, result: UpstreamResult, cause: string): Promise<ApplyResult> {
  // Read afresh rather than trust the caller's copy: callers ask PixelByte first, and meanwhile a late
  // submit response may have adopted a job, which decides whether this result is foreign.
  const edit = await edits.findById(editId);
  if (edit?.upstreamJobId && edit.upstreamJobId !== result.jobId) {
    // A job that is not the one this edit adopted: never let it overwrite the edit.
    return { moved: false, edit: null, refused: 'foreign-job' };
  }
  const data: Prisma.EditUpdateManyMutationInput = { upstreamStatus: result.status };
  let onlyIf: Prisma.EditWhereInput | undefined;
  if (edit && !edit.upstreamJobId) {
    // A webhook can beat the submit response (or the response was lost): adopt the job it names, but only
    // onto an edit one of whose submits may have made it. Checked in the very UPDATE that adopts, so an
    // accept, another adoption or a cancel landing meanwhile makes it a no-op, never a second job.
    data.upstreamJobId = result.jobId;
    onlyIf = MAY_ADOPT_A_JOB;
  }
  try {
    return await edits.transition(editId, result.status, { cause, onlyIf, ...changeFor(result, data) });
  } catch (err) {
    // Another edit holds this job (Edit.upstreamJobId is unique): it is not this edit's to take.
    if (onlyIf && isUniqueViolation(err)) return { moved: false, edit: null, refused: 'job-of-another-edit' };
    throw err;
  }
}

function changeFor(result: UpstreamResult, data: Prisma.EditUpdateManyMutationInput): Omit<TransitionChange, 'cause'> {
  switch (result.status) {
    case 'processing':
      return { data };
    case 'completed':
      return { data: { ...data, outputs: result.outputs as unknown as Prisma.InputJsonValue, completedAt: result.completedAt ?? new Date() } };
    case 'failed':
      return { upstreamCode: result.code, data: { ...data, errorCode: result.code, errorMessage: result.message, completedAt: result.completedAt ?? new Date() } };
    case 'cancelled':
      return { data: { ...data, completedAt: result.completedAt ?? new Date() } };
  }
}
