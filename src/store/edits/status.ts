import type { EditPriority, EditStatus, SubmitOutcome } from '../../generated/prisma/enums.js';

export type { EditPriority, EditStatus, SubmitOutcome };

/** Highest first: the order a client's waiting edits are sent in. */
export const EDIT_PRIORITIES = ['high', 'normal', 'low'] as const satisfies readonly EditPriority[];

export const EDIT_STATUSES = [
  'queued',
  'submitting',
  'submitted',
  'processing',
  'storing',
  'completed',
  'failed',
  'cancelled',
] as const satisfies readonly EditStatus[];

/** Not yet known to PixelByte: the submit queue must hold a job for each (the sweeper sees to it). */
export const AWAITING_SUBMIT = ['queued', 'submitting'] as const satisfies readonly EditStatus[];
/** PixelByte holds the job; webhooks and the reconciler's polls move these on. */
export const AT_UPSTREAM = ['submitted', 'processing'] as const satisfies readonly EditStatus[];
/** Hold (or, mid-submit, may hold) an unfinished job at PixelByte: what UPSTREAM_MAX_CONCURRENCY counts. */
export const UPSTREAM_SLOT_HOLDERS = ['submitting', 'submitted', 'processing'] as const satisfies readonly EditStatus[];
export const TERMINAL = ['completed', 'failed', 'cancelled'] as const satisfies readonly EditStatus[];
/**
 * PixelByte has finished with these: nothing it reports can change them any more. `storing` (only with a storage
 * bucket) holds the upstream result while the outputs are copied into the bucket; only `completed` follows it.
 */
export const UPSTREAM_DONE = ['storing', ...TERMINAL] as const satisfies readonly EditStatus[];

/**
 * Submit attempts that may have made a job nobody has heard of: the answer was lost (`unknown`), or the worker died
 * mid-call (`in_flight` with no finish). The fence waits on these, and only these let a webhook's job be adopted.
 */
export const UNCERTAIN_OUTCOMES = ['in_flight', 'unknown'] as const satisfies readonly SubmitOutcome[];
export const isUncertain = (outcome: SubmitOutcome): boolean => (UNCERTAIN_OUTCOMES as readonly SubmitOutcome[]).includes(outcome);

const isIn = (set: readonly EditStatus[], status: EditStatus) => set.includes(status);
export const isAwaitingSubmit = (status: EditStatus): boolean => isIn(AWAITING_SUBMIT, status);
export const isAtUpstream = (status: EditStatus): boolean => isIn(AT_UPSTREAM, status);
export const isTerminal = (status: EditStatus): boolean => isIn(TERMINAL, status);
export const isUpstreamDone = (status: EditStatus): boolean => isIn(UPSTREAM_DONE, status);

/**
 * The one place that says which status may follow which. An edit only ever moves forward: a late,
 * repeated or reordered event finds its source status gone and changes nothing.
 */
const NEXT: Record<EditStatus, readonly EditStatus[]> = {
  queued: ['submitting', 'failed', 'cancelled'],
  submitting: ['submitted', 'processing', 'storing', 'completed', 'failed', 'cancelled'],
  submitted: ['processing', 'storing', 'completed', 'failed', 'cancelled'],
  processing: ['storing', 'completed', 'failed', 'cancelled'],
  // Neither a cancel (PixelByte has charged) nor a failure: a store that cannot be made ends in `completed` too.
  storing: ['completed'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function canMove(from: EditStatus, to: EditStatus): boolean {
  return NEXT[from].includes(to);
}
