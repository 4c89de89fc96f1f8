import type { EditRepository, SubmitAttempt } from '../../store/edits/repository.js';
import type { PixelByteClient } from '../../upstream/client.js';
import { UpstreamError } from '../../upstream/errors.js';
import { upstreamDate } from '../intake/upstreamResult.js';

export interface FindOrphanJobDeps {
  edits: Pick<EditRepository, 'upstreamJobEvidence'>;
  pixelbyte: Pick<PixelByteClient, 'listJobs'>;
  now: () => Date;
}

/** What PixelByte's job list says about the submits of one edit whose outcome is unknown. */
export type OrphanJobLookup =
  /** PixelByte lists no job that we do not know in their window: none of them created one. */
  | { kind: 'none' }
  /** Exactly one unknown job, and no other edit could own it: it is this edit's, created by `attempt`. */
  | { kind: 'one'; jobId: string; status: string; createdAt: Date; attempt: SubmitAttempt }
  | { kind: 'ambiguous'; reason: string };

/**
 * How far PixelByte's clock may be from ours, and how long after its caller gave up (a gateway timing out
 * in front of a busy PixelByte) a job may still be created.
 */
const CLOCK_SKEW_ALLOWANCE_MS = 120_000;
/** No submit lasts longer than this (the most UPSTREAM_TIMEOUT_MS allows): it bounds when its job was created. */
const LONGEST_SUBMIT_MS = 120_000;
const PAGE_SIZE = 100;
/** More jobs of the model than this since the window began: too busy an account to search (and to tell jobs apart). */
const MAX_PAGES = 10;

/**
 * Looks for the job an unanswered submit may have created, when this deployment alone uses the PixelByte
 * key (PIXELBYTE_KEY_EXCLUSIVE): then every job PixelByte lists was submitted by us, and a job created
 * during the edit's uncertain attempts that no edit, attempt or webhook of ours knows is an orphan.
 * The list is fetched before our own records are read, so a job that another edit's submit is creating
 * right now is either known by then or belongs to a submit still in flight, which makes the answer ambiguous.
 */
export async function findOrphanJob(deps: FindOrphanJobDeps, edit: { id: string; model: string }, uncertain: SubmitAttempt[]): Promise<OrphanJobLookup> {
  if (uncertain.length === 0) return { kind: 'none' };
  const firstStart = Math.min(...uncertain.map((a) => a.startedAt.getTime()));
  const window = { from: firstStart - CLOCK_SKEW_ALLOWANCE_MS, to: deps.now().getTime() + CLOCK_SKEW_ALLOWANCE_MS };

  const listed = await jobsCreatedBetween(deps, edit.model, window);
  if ('reason' in listed) return { kind: 'ambiguous', reason: listed.reason };

  // Every other submit that could have created a job dated within the window (see couldHaveCreated).
  const evidence = await deps.edits.upstreamJobEvidence(edit.id, [...listed.keys()], {
    from: new Date(window.from - LONGEST_SUBMIT_MS - CLOCK_SKEW_ALLOWANCE_MS),
    to: new Date(window.to + CLOCK_SKEW_ALLOWANCE_MS),
  });
  const orphans = [...listed.values()].filter((job) => !evidence.known.has(job.jobId));
  if (orphans.length === 0) return { kind: 'none' };
  const numbers = uncertain.map((a) => a.attempt).join(', ');
  if (orphans.length > 1) {
    return { kind: 'ambiguous', reason: `PixelByte lists ${orphans.length} jobs no edit knows, created around attempt ${numbers}` };
  }
  const [job] = orphans as [ListedInWindow];
  const rivals = evidence.otherUncertainStarts.filter((start) => couldHaveCreated(start.getTime(), job.createdAt.getTime()));
  if (rivals.length > 0) {
    return {
      kind: 'ambiguous',
      reason: `PixelByte lists job ${job.jobId} that no edit knows, but ${rivals.length} other submits of unknown outcome could have created it`,
    };
  }
  // The latest uncertain attempt that had started by the time the job was created (allowing for skew) made it.
  const byStart = [...uncertain].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
  const attempt = byStart.filter((a) => a.startedAt.getTime() - CLOCK_SKEW_ALLOWANCE_MS <= job.createdAt.getTime()).at(-1) ?? byStart.at(-1)!;
  return { kind: 'one', jobId: job.jobId, status: job.status, createdAt: job.createdAt, attempt };
}

/** A submit that started at `start` can have created a job PixelByte dates `createdAt`. */
function couldHaveCreated(start: number, createdAt: number): boolean {
  return createdAt >= start - CLOCK_SKEW_ALLOWANCE_MS && createdAt <= start + LONGEST_SUBMIT_MS + CLOCK_SKEW_ALLOWANCE_MS;
}

interface ListedInWindow {
  jobId: string;
  status: string;
  createdAt: Date;
}

/** Every job of `model` PixelByte lists as created within the window, or why the list could not tell. */
async function jobsCreatedBetween(
  deps: FindOrphanJobDeps,
  model: string,
  window: { from: number; to: number },
): Promise<Map<string, ListedInWindow> | { reason: string }> {
  const found = new Map<string, ListedInWindow>();
  let cursor: string | undefined;
  // PixelByte does not document the list's order. Stopping early is only safe while it is seen to be newest first.
  let newestFirst = true;
  let previous = Number.POSITIVE_INFINITY;
  let seen = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    let jobs;
    try {
      jobs = await deps.pixelbyte.listJobs({ modelId: model, limit: PAGE_SIZE, cursor });
    } catch (err) {
      return { reason: `PixelByte could not list its jobs (${err instanceof UpstreamError ? err.code : 'UPSTREAM_ERROR'})` };
    }
    for (const job of jobs.jobs) {
      const createdAt = upstreamDate(job.createdAt);
      // An undated job could be the one we look for, and nothing proves otherwise.
      if (!createdAt) return { reason: `PixelByte lists job ${job.jobId} without a creation time` };
      const at = createdAt.getTime();
      seen += 1;
      if (at > previous) newestFirst = false;
      previous = at;
      if (at >= window.from && at <= window.to) found.set(job.jobId, { jobId: job.jobId, status: job.status, createdAt });
    }
    if (!jobs.hasMore) return found;
    if (newestFirst && seen > 1 && previous < window.from) return found;
    if (!jobs.nextCursor) return { reason: 'PixelByte says more jobs exist but gave no cursor to them' };
    cursor = jobs.nextCursor;
  }
  return { reason: `PixelByte lists more than ${MAX_PAGES * PAGE_SIZE} jobs of ${model} to search` };
}
