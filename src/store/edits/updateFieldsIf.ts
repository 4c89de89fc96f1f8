import type { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

/** Writes facts that do not change the status, only while the edit matches `where`. False when it did not. */
export async function updateFieldsIf(
  db: Db,
  id: string,
  where: Prisma.EditWhereInput,
  data: Omit<Prisma.EditUpdateManyMutationInput, 'status'>,
): Promise<boolean> {
  const { count } = await db.edit.updateMany({ where: { ...where, id }, data });
  return count === 1;
}
