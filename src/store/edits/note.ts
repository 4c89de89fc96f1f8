import type { Db } from '../../infra/prisma.js';
import type { EditStatus } from './status.js';

/** Appends a history row that records an event without a status change (a retry, a poll, a warning). */
export async function note(db: Db, editId: string, status: EditStatus, cause: string, upstreamCode?: string): Promise<void> {
  await db.editTransition.create({ data: { editId, fromStatus: status, toStatus: status, cause, upstreamCode: upstreamCode ?? null } });
}
