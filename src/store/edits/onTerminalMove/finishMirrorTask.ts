import { Prisma } from '../../../generated/prisma/client.js';
import type { MovedColumn, MoveHook } from '../moveEdit.js';

/**
 * The mirror's part in an edit's completion (registered only when a storage bucket is configured): its task is
 * finished by the same statement, with what the completed outputs say was stored (`mirror.key`) and what was not
 * (`mirror.error`), the bytes stored and when, which /metrics reads. An edit that never went through `storing` has no
 * task, and nothing is written. Writes no outbox rows.
 */
export const finishMirrorTask: MoveHook = {
  sql: (moved) => {
    const m = (name: MovedColumn) => moved.column(name, 'm');
    return Prisma.sql`
    UPDATE "MirrorTask" t SET
      "finishedAt" = ${m('updatedAt')},
      "outputsStored" = (SELECT count(*) FROM jsonb_array_elements(${m('outputs')}) o WHERE o->'mirror' ? 'key')::int,
      "outputsFailed" = (SELECT count(*) FROM jsonb_array_elements(${m('outputs')}) o WHERE NOT coalesce(o->'mirror' ? 'key', false))::int,
      "bytesStored" = (SELECT coalesce(sum((o->'mirror'->>'bytes')::bigint), 0) FROM jsonb_array_elements(${m('outputs')}) o WHERE o->'mirror' ? 'key')
    FROM ${moved.from('m')}
    WHERE t."editId" = ${m('id')} AND ${m('status')} = 'completed' AND t."finishedAt" IS NULL`;
  },
};
