import { Prisma } from '../../../generated/prisma/client.js';
import type { MovedColumn, MoveHook } from '../moveEdit.js';

/**
 * The mirror's part in a move into `storing` (registered only when a storage bucket is configured): its task row,
 * written by the move's own statement, so the work to copy the outputs exists exactly when the status does. Its id
 * (the edit's) is returned for the caller to enqueue the mirror job after the commit; the mirror sweeper enqueues it
 * if that is lost. The deadline is counted from the move: past it, the edit completes with what could be stored.
 */
export function writeMirrorOutbox(deadlineMs: number): MoveHook {
  return {
    outbox: 'mirrors',
    sql: (moved) => {
      const m = (name: MovedColumn) => moved.column(name, 'm');
      return Prisma.sql`
      INSERT INTO "MirrorTask" ("editId", "deadlineAt", "nextAttemptAt", "createdAt")
      SELECT ${m('id')}, ${m('updatedAt')} + make_interval(secs => ${deadlineMs / 1000}::float8), ${m('updatedAt')}, ${m('updatedAt')}
      FROM ${moved.from('m')}
      WHERE ${m('status')} = 'storing'
      ON CONFLICT DO NOTHING
      RETURNING "editId"::text AS "id"`;
    },
  };
}
