import type { Edit } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import { AT_UPSTREAM } from './status.js';

/**
 * Claims up to `take` edits whose upstream job is due a status poll, pushing their next poll out by `leaseMs` so
 * that other workers polling at the same time skip them: each claim is guarded by the `nextPollAt` it read.
 */
export async function claimDuePolls(db: Db, now: Date, leaseMs: number, take: number): Promise<Edit[]> {
  const due = await db.edit.findMany({
    where: { status: { in: [...AT_UPSTREAM] }, upstreamJobId: { not: null }, nextPollAt: { lte: now } },
    orderBy: { nextPollAt: 'asc' },
    take,
  });
  const claimed: Edit[] = [];
  for (const edit of due) {
    const { count } = await db.edit.updateMany({
      where: { id: edit.id, nextPollAt: edit.nextPollAt },
      data: { nextPollAt: new Date(now.getTime() + leaseMs) },
    });
    if (count === 1) claimed.push(edit);
  }
  return claimed;
}
