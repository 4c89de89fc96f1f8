import type { Edit, EditTransition, Prisma, SubmitAttempt } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import type { EditStatus } from './status.js';

/** The plain reads of edits, their history and their submits, through Prisma: none of them is on the hot path. */

export function findById(db: Db, id: string): Promise<Edit | null> {
  return db.edit.findUnique({ where: { id } });
}

/** The edit, only if `clientId` created it: to anyone else it does not exist. */
export function findOwned(db: Db, id: string, clientId: string): Promise<Edit | null> {
  return db.edit.findFirst({ where: { id, clientId } });
}

/**
 * A queued edit's place among its client's waiting edits, 1 being the next its client is sent: those of higher
 * priority, then older, go first (store/edits/fairPick.ts). A range of the (clientId, status, priority, createdAt, id)
 * index, so it costs the edits ahead of this one.
 */
export async function queuePosition(db: Db, edit: Pick<Edit, 'id' | 'clientId' | 'priority' | 'createdAt'>): Promise<number> {
  const [row] = await db.$queryRaw<{ ahead: number }[]>`
    SELECT count(*)::int AS "ahead" FROM "Edit"
    WHERE "clientId" = ${edit.clientId} AND "status" = 'queued'
      AND ("priority", "createdAt", "id") < (${edit.priority}::"EditPriority", ${edit.createdAt}::timestamp(3), ${edit.id}::uuid)`;
  return (row?.ahead ?? 0) + 1;
}

/**
 * Edits past their deadline that the deadline sweep has yet to deal with, oldest deadline first; through the
 * (status, deadlineAt) index, so neither finished edits nor those without a deadline are read.
 */
export function findPastDeadline(db: Db, now: Date, take: number): Promise<Edit[]> {
  return db.edit.findMany({
    where: { status: { in: ['queued', 'submitted', 'processing'] }, deadlineAt: { lte: now }, deadlineMissed: false },
    orderBy: { deadlineAt: 'asc' },
    take,
  });
}

export function findByUpstreamJobId(db: Db, upstreamJobId: string): Promise<Edit | null> {
  return db.edit.findUnique({ where: { upstreamJobId } });
}

export function history(db: Db, id: string): Promise<EditTransition[]> {
  return db.editTransition.findMany({ where: { editId: id }, orderBy: { id: 'asc' } });
}

export interface ListPage {
  /** Only this client's edits; null (the admin API only) for every client's. */
  clientId: string | null;
  status?: EditStatus;
  model?: string;
  limit: number;
  after?: { createdAt: Date; id: string };
}

/** Newest first; `after` is the last row of the previous page. Fetches one extra row to know whether more exist. */
export async function list(db: Db, page: ListPage): Promise<{ edits: Edit[]; hasMore: boolean }> {
  const where: Prisma.EditWhereInput = {
    ...(page.clientId === null ? {} : { clientId: page.clientId }),
    ...(page.status ? { status: page.status } : {}),
    ...(page.model ? { model: page.model } : {}),
    ...(page.after ? { OR: [{ createdAt: { lt: page.after.createdAt } }, { createdAt: page.after.createdAt, id: { lt: page.after.id } }] } : {}),
  };
  const rows = await db.edit.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: page.limit + 1 });
  return { edits: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
}

/** Edits left in `statuses` since before `olderThan`: the sweeper's work list. */
export function findStale(db: Db, statuses: readonly EditStatus[], olderThan: Date, take: number): Promise<Pick<Edit, 'id' | 'status'>[]> {
  return db.edit.findMany({
    where: { status: { in: [...statuses] }, updatedAt: { lt: olderThan } },
    select: { id: true, status: true },
    orderBy: { updatedAt: 'asc' },
    take,
  });
}

export function submitAttempts(db: Db, editId: string): Promise<SubmitAttempt[]> {
  return db.submitAttempt.findMany({ where: { editId }, orderBy: { attempt: 'asc' } });
}
