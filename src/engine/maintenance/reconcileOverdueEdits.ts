import type { Logger } from 'pino';
import { backoffDelayMs } from '../../shared/backoff.js';
import { AT_UPSTREAM } from '../../store/edits/status.js';
import type { PixelByteClient } from '../../upstream/client.js';
import { UpstreamError } from '../../upstream/errors.js';
import { listedOutputs, type UpstreamJob } from '../../upstream/schemas.js';
import { toUpstreamResult } from '../intake/upstreamResult.js';
import type { EditStore, EditTransitions } from '../transitions.js';

export interface ReconcilerDeps {
  edits: Pick<EditStore, 'claimDuePolls' | 'updateFieldsIf'>;
  transitions: Pick<EditTransitions, 'applyUpstreamResult'>;
  pixelbyte: Pick<PixelByteClient, 'getJob'>;
  logger: Logger;
  /** Longest wait between two polls of one job. */
  maxIntervalMs: number;
  batch?: number;
}

// Long enough for one slow poll; another worker may take the edit over after it.
const CLAIM_LEASE_MS = 60_000;
const FIRST_RETRY_MS = 5_000;

/**
 * Lost webhooks: asks PixelByte about every edit whose job should have finished by now and applies the
 * answer through the same state machine as a webhook. Jobs still running are asked again later, with backoff.
 */
export async function reconcileOverdueEdits(deps: ReconcilerDeps): Promise<number> {
  const now = new Date();
  const due = await deps.edits.claimDuePolls(now, CLAIM_LEASE_MS, deps.batch ?? 50);
  for (const edit of due) {
    const jobId = edit.upstreamJobId!;
    const nextPoll = () => new Date(Date.now() + backoffDelayMs(edit.pollCount + 1, FIRST_RETRY_MS, deps.maxIntervalMs));
    let job: UpstreamJob;
    try {
      job = await deps.pixelbyte.getJob(jobId);
    } catch (err) {
      // Only PixelByte's own JOB_NOT_FOUND says the job is gone; a gateway's 404 page says nothing about a paid, running job.
      if (err instanceof UpstreamError && err.kind === 'rejected' && err.code === 'JOB_NOT_FOUND') {
        const gone = { jobId, status: 'failed', code: 'UPSTREAM_JOB_NOT_FOUND', message: `PixelByte no longer knows job ${jobId}` } as const;
        await deps.transitions.applyUpstreamResult(edit.id, gone, 'poll: job not found');
        continue;
      }
      deps.logger.warn({ err, editId: edit.id, jobId }, 'status poll failed; will ask again');
      await deps.edits.updateFieldsIf(edit.id, {}, { pollCount: { increment: 1 }, nextPollAt: nextPoll() });
      continue;
    }
    const result = toUpstreamResult({ ...job, outputs: listedOutputs(job) });
    if (result) {
      const applied = await deps.transitions.applyUpstreamResult(edit.id, result, `poll: ${job.status} (webhook missing)`);
      if (applied.moved) deps.logger.info({ editId: edit.id, jobId, status: job.status }, 'reconciled an edit whose webhook did not arrive');
    }
    // Still running (or done but not yet listing its outputs): ask again later.
    await deps.edits.updateFieldsIf(
      edit.id,
      { status: { in: [...AT_UPSTREAM] } },
      { upstreamStatus: job.status, pollCount: { increment: 1 }, nextPollAt: nextPoll() },
    );
  }
  return due.length;
}
