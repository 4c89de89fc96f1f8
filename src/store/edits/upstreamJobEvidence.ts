import type { Db } from '../../infra/prisma.js';
import { UNCERTAIN_OUTCOMES } from './status.js';

/**
 * For the orphan-job lookup: which of `jobIds` an edit, a submit attempt or a webhook of ours already names, and
 * when the submits of other edits whose outcome is unknown (in flight or lost) that started within `started` began:
 * any of them could own a job nobody knows. Runs only when a fence expires, so unindexed columns are fine.
 */
export async function upstreamJobEvidence(
  db: Db,
  editId: string,
  jobIds: string[],
  started: { from: Date; to: Date },
): Promise<{ known: Set<string>; otherUncertainStarts: Date[] }> {
  const named = { upstreamJobId: { in: jobIds } };
  const [edits, attempts, webhooks, others] = await Promise.all([
    db.edit.findMany({ where: named, select: { upstreamJobId: true } }),
    db.submitAttempt.findMany({ where: named, select: { upstreamJobId: true } }),
    db.webhookEvent.findMany({ where: named, select: { upstreamJobId: true } }),
    db.submitAttempt.findMany({
      where: { editId: { not: editId }, outcome: { in: [...UNCERTAIN_OUTCOMES] }, startedAt: { gte: started.from, lte: started.to } },
      select: { startedAt: true },
    }),
  ]);
  const known = new Set([...edits, ...attempts, ...webhooks].map((row) => row.upstreamJobId).filter((id): id is string => id !== null));
  return { known, otherUncertainStarts: others.map((a) => a.startedAt) };
}
