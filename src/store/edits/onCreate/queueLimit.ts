import { AppError } from '../../../errors.js';
import { Prisma } from '../../../generated/prisma/client.js';
import type { SqlQuery } from '../../../infra/sql.js';

/**
 * The queue limits an edit is stored under: its client's maxQueued and the server's MAX_QUEUED_EDITS, counted in
 * ClientQueue (edits `queued` now). Past either, nothing is stored and the caller gets 429 QUEUE_FULL.
 */
export interface QueueLimits {
  clientMaxQueued: number | null;
  serverMaxQueued: number | null;
}

const QUEUE_LOCK_CLASS = 7_262_002; // any constant; with the client's hash, names the lock its accepts take turns on

/** A queued edit leaves the queue when a slot frees; a few seconds is a fair time to come back. */
const RETRY_AFTER_SECONDS = 5;

export const queueFull = (which: 'client' | 'server', limit: number) =>
  new AppError(
    'QUEUE_FULL',
    which === 'client'
      ? `This client already has ${limit} edits waiting, its maxQueued; nothing was stored`
      : `The relay already has ${limit} edits waiting, its MAX_QUEUED_EDITS; nothing was stored`,
    { limit, scope: which, retryAfterSeconds: RETRY_AFTER_SECONDS },
    { 'retry-after': String(RETRY_AFTER_SECONDS) },
  );

/**
 * Throws QUEUE_FULL when the edit would go past a limit; run in the transaction that then stores it. A client's accepts
 * take turns on an advisory lock of its own (not ClientQueue's row lock, which a terminal move takes after the budget's
 * row and an accept before it), so two can never both squeeze under maxQueued. The server-wide count is read
 * unlocked: concurrent accepts may pass it by as many as are in flight at once.
 */
export async function ensureQueueRoom(q: SqlQuery, clientId: string, limits: QueueLimits): Promise<void> {
  if (limits.clientMaxQueued !== null) {
    await q.rows(Prisma.sql`SELECT pg_advisory_xact_lock(${QUEUE_LOCK_CLASS}::int4, hashtext(${clientId}))`);
  }
  const [counts] = await q.rows<{ client: number; server: number }>(Prisma.sql`
    SELECT coalesce((SELECT "queued" FROM "ClientQueue" WHERE "clientId" = ${clientId}), 0)::int AS "client",
           ${limits.serverMaxQueued === null ? Prisma.sql`0` : Prisma.sql`(SELECT coalesce(sum("queued"), 0) FROM "ClientQueue")`}::int AS "server"`);
  if (limits.clientMaxQueued !== null && (counts?.client ?? 0) >= limits.clientMaxQueued) throw queueFull('client', limits.clientMaxQueued);
  if (limits.serverMaxQueued !== null && (counts?.server ?? 0) >= limits.serverMaxQueued) throw queueFull('server', limits.serverMaxQueued);
}

export const hasQueueLimit = (limits: QueueLimits | undefined): limits is QueueLimits =>
  limits !== undefined && (limits.clientMaxQueued !== null || limits.serverMaxQueued !== null);
