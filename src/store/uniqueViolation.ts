import { Prisma } from '../generated/prisma/client.js';
import { isPgUniqueViolation } from '../infra/sql.js';

const UNIQUE_VIOLATION = 'P2002';

/** A unique constraint refused a write, whether Prisma or the hot statements (node-postgres) made it. */
export const isUniqueViolation = (err: unknown) =>
  (err instanceof Prisma.PrismaClientKnownRequestError && err.code === UNIQUE_VIOLATION) || isPgUniqueViolation(err);
