import { randomUUID } from 'node:crypto';
import type { TerminalMoveHook } from '../edits/repository.js';
import type { EditStatus } from '../edits/status.js';

const CALLBACK_EVENT_TYPES = { completed: 'edit.completed', failed: 'edit.failed', cancelled: 'edit.cancelled' } as const;
type CallbackEventType = (typeof CALLBACK_EVENT_TYPES)[keyof typeof CALLBACK_EVENT_TYPES];

/**
 * The callbacks feature's part in an edit's terminal move (registered on the EditRepository at start-up): the
 * delivery row, written in the move's own transaction, so the event exists exactly when the status change does.
 * Returns its id for the caller to enqueue after the commit; the callback sweeper enqueues it if that is lost.
 */
export const writeCallbackOutbox: TerminalMoveHook = async (tx, edit) => {
  const type = (CALLBACK_EVENT_TYPES as Partial<Record<EditStatus, CallbackEventType>>)[edit.status];
  if (!edit.callbackUrl || !type) return [];
  const id = `msg_${randomUUID()}`;
  const { count } = await tx.callbackDelivery.createMany({ data: { id, editId: edit.id, type }, skipDuplicates: true });
  return count === 1 ? [id] : [];
};
