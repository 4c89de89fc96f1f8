import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import { json } from '../../infra/sql.js';

/**
 * One output's copy in the bucket (or why it cannot be made), written into the edit's `outputs[index].mirror` while
 * the edit is `storing`: a later try skips what is recorded. False when the edit is no longer storing (another run
 * completed it meanwhile), and nothing was written.
 */
export async function recordOutputMirror(db: Db, editId: string, index: number, mirror: Record<string, unknown>, now = new Date()): Promise<boolean> {
  const rows = await db.sql.rows(Prisma.sql`
    UPDATE "Edit" SET "outputs" = jsonb_set("outputs", ARRAY[${String(index)}, 'mirror'], ${json(mirror)}::jsonb, true), "updatedAt" = ${now}::timestamp(3)
    WHERE "id" = ${editId}::uuid AND "status" = 'storing' AND jsonb_array_length("outputs") > ${index}::int
    RETURNING "id"`);
  return rows.length === 1;
}
