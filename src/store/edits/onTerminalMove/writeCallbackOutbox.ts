import { Prisma } from '../../../generated/prisma/client.js';
import type { MovedColumn, TerminalMoveHook } from '../moveEdit.js';

/**
 * The callbacks feature's part in an edit's terminal move (registered on the EditRepository at start-up): the
 * delivery row (`edit.completed`, `edit.failed`, `edit.cancelled`), written by the move's own statement, so the
 * event exists exactly when the status change does. Its id is returned for the caller to enqueue after the commit;
 * the callback sweeper enqueues it if that is lost. An edit without a callbackUrl gets none.
 */
export const writeCallbackOutbox: TerminalMoveHook = {
  outbox: 'callbacks',
  sql: (moved) => {
    const m = (name: MovedColumn) => moved.column(name, 'm');
    return Prisma.sql`
    INSERT INTO "CallbackDelivery" ("id", "editId", "type", "nextAttemptAt", "createdAt", "updatedAt")
    SELECT 'msg_' || gen_random_uuid(), ${m('id')}, 'edit.' || ${m('status')}::text, ${m('updatedAt')}, ${m('updatedAt')}, ${m('updatedAt')}
    FROM ${moved.from('m')}
    WHERE ${m('callbackUrl')} IS NOT NULL AND ${m('status')} IN ('completed', 'failed', 'cancelled')
    ON CONFLICT DO NOTHING
    RETURNING "id"`;
  },
};
