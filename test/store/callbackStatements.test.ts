import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepositories, type Repositories } from '../../src/compose.js';
import { createPrisma, type Db } from '../../src/infra/prisma.js';
import type { CallbackRepository } from '../../src/store/callbacks/repository.js';
import { isolatedDatabase } from '../helpers/services.js';

// A delivery attempt's statements (store/callbacks: claimDue, recordAttempt, postpone) run on node-postgres: a claim must read the rows
// Prisma reads, exactly one of several racing workers may get a delivery, a claim handed back for want of a slot
// counts nothing, and a late outcome must not land on a delivery that has moved on.
let database: Awaited<ReturnType<typeof isolatedDatabase>>;
let db: Db;
let edits: Repositories['edits'];
let deliveries: CallbackRepository;
const zone = process.env.TZ;

beforeAll(async () => {
  // Timestamps are stored as UTC; pg's own parser would read them in the process's time zone.
  process.env.TZ = 'America/New_York';
  database = await isolatedDatabase();
  db = createPrisma(database.url, { max: 8 });
  ({ edits, deliveries } = createRepositories(db));
});
afterAll(async () => {
  process.env.TZ = zone;
  await db?.$disconnect();
  await database?.drop();
});

const second = 1_000;
const lease = (from: Date) => new Date(from.getTime() + 30 * second);

/** A cancelled edit with a callbackUrl, and the delivery its terminal move wrote (due at once). */
async function newDelivery() {
  const edit = await edits.create({
    id: randomUUID(),
    model: 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image',
    input: { prompt: 'p', image_urls: ['https://example.com/a.jpg'] },
    callbackUrl: 'https://hooks.example.com/statements',
    metadata: { order: 7 },
    clientId: 'key_callback_statements',
    estimatedCostMicroCents: 1,
    imagesOrdered: 1,
  });
  await edits.move(edit.id, 'cancelled', { cause: 'test', data: { completedAt: new Date('2026-03-02T00:15:00.456Z') } });
  const delivery = await db.callbackDelivery.findFirstOrThrow({ where: { editId: edit.id } });
  return { editId: edit.id, delivery };
}

/** The moment the delivery's first attempt is due, and a little after. */
const dueAt = (delivery: { nextAttemptAt: Date }) => new Date(delivery.nextAttemptAt.getTime() + 1);

describe('the claim of a delivery', () => {
  it('reads the delivery and its edit as Prisma does, field for field, in a process whose time zone is not UTC', async () => {
    expect(new Date(0).getTimezoneOffset()).not.toBe(0);
    const { editId, delivery } = await newDelivery();
    const now = dueAt(delivery);
    const claim = await deliveries.claimDue(delivery.id, now, lease(now));
    if (claim.kind !== 'claimed') throw new Error(`not claimed: ${claim.kind}`);
    const stored = await db.callbackDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    expect(claim.delivery).toEqual(stored);
    expect(stored).toMatchObject({ status: 'pending', nextAttemptAt: lease(now), updatedAt: now, attempts: 0, series: 1 });
    expect(claim.edit).toEqual(await db.edit.findUniqueOrThrow({ where: { id: editId } }));
  });

  it('tells a delivery that is not due (and how long to wait) from one that is over and one that does not exist', async () => {
    const { delivery } = await newDelivery();
    const early = new Date(delivery.nextAttemptAt.getTime() - 2_500);
    expect(await deliveries.claimDue(delivery.id, early, lease(early))).toEqual({ kind: 'not-due', waitMs: 2_500 });

    const now = dueAt(delivery);
    expect((await deliveries.claimDue(delivery.id, now, lease(now))).kind).toBe('claimed');
    // Held by that attempt: the same job run again (a stalled worker's) waits for the lease.
    expect(await deliveries.claimDue(delivery.id, now, lease(now))).toEqual({ kind: 'not-due', waitMs: 30 * second });

    await db.callbackDelivery.update({ where: { id: delivery.id }, data: { status: 'delivered' } });
    expect(await deliveries.claimDue(delivery.id, now, lease(now))).toEqual({ kind: 'over', status: 'delivered' });
    expect(await deliveries.claimDue('msg_nobody', now, lease(now))).toEqual({ kind: 'missing' });
  });

  it('goes to exactly one of several workers claiming it at once', async () => {
    for (let round = 0; round < 5; round += 1) {
      const { delivery } = await newDelivery();
      const now = dueAt(delivery);
      const claims = await Promise.all(Array.from({ length: 8 }, () => deliveries.claimDue(delivery.id, now, lease(now))));
      expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(1);
      // The others saw it due but lost the race in the same instant, or came after the winner's commit.
      for (const claim of claims.filter((c) => c.kind !== 'claimed')) expect(['taken', 'not-due']).toContain(claim.kind);
    }
  });
});

describe('a claim handed back (no slot was free)', () => {
  it('makes the delivery due again when asked, with no attempt counted or stored', async () => {
    const { delivery } = await newDelivery();
    const now = dueAt(delivery);
    expect((await deliveries.claimDue(delivery.id, now, lease(now))).kind).toBe('claimed');
    const later = new Date(now.getTime() + second);
    expect(await deliveries.postpone(delivery.id, 1, lease(now), later, now)).toBe(true);
    expect(await deliveries.findById(delivery.id)).toMatchObject({ status: 'pending', nextAttemptAt: later, attempts: 0, seriesAttempts: 0, lastError: null });
    expect(await deliveries.attempts(delivery.id)).toEqual([]);
    expect(await deliveries.claimDue(delivery.id, now, lease(now))).toEqual({ kind: 'not-due', waitMs: second });
    expect((await deliveries.claimDue(delivery.id, later, lease(later))).kind).toBe('claimed');
  });

  it("never hands back another claim's lease, another series, or a delivery that is over", async () => {
    const { delivery } = await newDelivery();
    const now = dueAt(delivery);
    await deliveries.claimDue(delivery.id, now, lease(now));
    const stale = new Date(now.getTime() - second);
    expect(await deliveries.postpone(delivery.id, 1, lease(stale), now, now)).toBe(false);
    expect(await deliveries.postpone(delivery.id, 2, lease(now), now, now)).toBe(false);
    await deliveries.recordAttempt(delivery.id, { series: 1, attempt: 1, startedAt: now, durationMs: 5, statusCode: 200 }, { status: 'delivered' }, now);
    const delivered = await deliveries.findById(delivery.id);
    expect(await deliveries.postpone(delivery.id, 1, lease(now), now, now)).toBe(false);
    expect(await deliveries.findById(delivery.id)).toEqual(delivered);
  });
});

describe('a redelivery', () => {
  const minute = 60 * second;
  async function deliveredDelivery() {
    const { delivery } = await newDelivery();
    const now = dueAt(delivery);
    await deliveries.claimDue(delivery.id, now, lease(now));
    await deliveries.recordAttempt(delivery.id, { series: 1, attempt: 1, startedAt: now, durationMs: 5, statusCode: 200 }, { status: 'delivered' }, now);
    return delivery;
  }

  it('starts exactly one new series of several racing, and none within the cooldown, even once delivered again', async () => {
    const delivery = await deliveredDelivery();
    const at = new Date();
    const results = await Promise.all(Array.from({ length: 8 }, () => deliveries.restart(delivery.id, minute, at)));
    expect(results.filter((r) => r.kind === 'restarted')).toHaveLength(1);
    for (const r of results.filter((r) => r.kind !== 'restarted')) expect(r).toEqual({ kind: 'too-soon', retryAfterMs: minute });
    expect(await deliveries.findById(delivery.id)).toMatchObject({ status: 'pending', series: 2, redeliveredAt: at });

    const again = new Date(at.getTime() + 10 * second);
    await deliveries.recordAttempt(delivery.id, { series: 2, attempt: 1, startedAt: again, durationMs: 5, statusCode: 200 }, { status: 'delivered' }, again);
    const delivered = await deliveries.findById(delivery.id);
    expect(await deliveries.restart(delivery.id, minute, again)).toEqual({ kind: 'too-soon', retryAfterMs: 50 * second });
    expect(await deliveries.findById(delivery.id)).toEqual(delivered);
    expect(await deliveries.restart(delivery.id, minute, new Date(at.getTime() + minute))).toEqual({ kind: 'restarted' });
    expect(await deliveries.findById(delivery.id)).toMatchObject({ status: 'pending', series: 3 });
  });

  it('says a delivery still on its schedule is pending, when no redelivery started it', async () => {
    const { delivery } = await newDelivery();
    expect(await deliveries.restart(delivery.id, minute)).toEqual({ kind: 'pending' });
    expect(await deliveries.findById(delivery.id)).toMatchObject({ series: 1, redeliveredAt: null });
  });
});

describe('the record of an attempt', () => {
  const failedAttempt = (startedAt: Date) => ({ series: 1, attempt: 1, startedAt, durationMs: 12, statusCode: 500, error: 'HTTP 500: boom' });

  it('stores the attempt and its verdict together: a retry keeps the error and the next due time, a delivery keeps the last error', async () => {
    const { delivery } = await newDelivery();
    const now = dueAt(delivery);
    await deliveries.claimDue(delivery.id, now, lease(now));
    const retryAt = new Date(now.getTime() + 5 * second);
    const judgedAt = new Date(now.getTime() + 12);
    const verdict = { status: 'pending', lastError: 'HTTP 500: boom', nextAttemptAt: retryAt } as const;
    expect(await deliveries.recordAttempt(delivery.id, failedAttempt(now), verdict, judgedAt)).toBe(true);
    expect(await deliveries.findById(delivery.id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      seriesAttempts: 1,
      lastError: 'HTTP 500: boom',
      nextAttemptAt: retryAt,
      deliveredAt: null,
      updatedAt: judgedAt,
    });

    const deliveredAt = new Date(retryAt.getTime() + 30);
    const answered = { series: 1, attempt: 2, startedAt: retryAt, durationMs: 30, statusCode: 204 };
    expect(await deliveries.recordAttempt(delivery.id, answered, { status: 'delivered' }, deliveredAt)).toBe(true);
    expect(await deliveries.findById(delivery.id)).toMatchObject({
      status: 'delivered',
      attempts: 2,
      seriesAttempts: 2,
      lastError: 'HTTP 500: boom',
      nextAttemptAt: retryAt,
      deliveredAt,
    });
    expect(await deliveries.attempts(delivery.id)).toMatchObject([
      { series: 1, attempt: 1, startedAt: now, durationMs: 12, statusCode: 500, error: 'HTTP 500: boom' },
      { series: 1, attempt: 2, startedAt: retryAt, durationMs: 30, statusCode: 204, error: null },
    ]);
  });

  it('never overwrites a delivery that was restarted into a new series: the late attempt is only logged', async () => {
    const { delivery } = await newDelivery();
    const now = dueAt(delivery);
    await deliveries.claimDue(delivery.id, now, lease(now));
    // Another worker delivered it (this attempt's lease ran out), and the client asked for a redelivery.
    await deliveries.recordAttempt(delivery.id, { series: 1, attempt: 1, startedAt: now, durationMs: 5, statusCode: 200 }, { status: 'delivered' }, now);
    expect(await deliveries.restart(delivery.id, 0)).toEqual({ kind: 'restarted' });
    const restarted = await deliveries.findById(delivery.id);
    expect(restarted).toMatchObject({ status: 'pending', series: 2, seriesAttempts: 0, attempts: 1 });

    const late = { status: 'failed', lastError: 'HTTP 500: boom' } as const;
    expect(await deliveries.recordAttempt(delivery.id, failedAttempt(now), late, new Date())).toBe(false);
    expect(await deliveries.findById(delivery.id)).toEqual(restarted);
    expect((await deliveries.attempts(delivery.id)).map((a) => [a.series, a.attempt, a.statusCode])).toEqual([
      [1, 1, 200],
      [1, 1, 500],
    ]);
  });

  it('leaves a delivery that is over alone', async () => {
    const { delivery } = await newDelivery();
    const now = dueAt(delivery);
    await deliveries.claimDue(delivery.id, now, lease(now));
    await deliveries.recordAttempt(delivery.id, failedAttempt(now), { status: 'failed', lastError: 'HTTP 410: gone' }, now);
    const failed = await deliveries.findById(delivery.id);
    expect(await deliveries.recordAttempt(delivery.id, failedAttempt(now), { status: 'delivered' }, new Date())).toBe(false);
    expect(await deliveries.findById(delivery.id)).toEqual(failed);
  });
});

describe('the statements of an attempt', () => {
  it("read only their own delivery's and edit's rows, however stale the planner's statistics", async () => {
    // Its own database and one connection: the scan counters read below are this backend's alone.
    const own = await isolatedDatabase();
    const ownDb = createPrisma(own.url, { max: 1 });
    try {
      const own_ = createRepositories(ownDb);
      await ownDb.$executeRawUnsafe('ANALYZE'); // statistics of empty tables, as after a deploy on a quiet night
      // A backlog of 2,000 finished edits whose callbacks are all due; the prepared statements on their generic plans.
      await ownDb.$executeRawUnsafe(`INSERT INTO "Edit" ("id", "status", "model", "input", "clientId", "callbackUrl", "estimatedCostMicroCents", "updatedAt")
        SELECT gen_random_uuid(), 'completed', 'm', '{}', 'key_scans', 'https://hooks.example.com/x', 1, now() FROM generate_series(1, 2000)`);
      await ownDb.$executeRawUnsafe(`INSERT INTO "CallbackDelivery" ("id", "editId", "type", "nextAttemptAt", "updatedAt")
        SELECT 'msg_' || gen_random_uuid(), "id", 'edit.completed', now() - interval '1 minute', now() FROM "Edit"`);
      await ownDb.$executeRawUnsafe('SET plan_cache_mode = force_generic_plan');
      const ids = (await ownDb.callbackDelivery.findMany({ select: { id: true }, take: 20 })).map((d) => d.id);

      const before = await scans(ownDb);
      for (const id of ids) {
        const now = new Date();
        // A claim handed back for want of a slot, then the attempt.
        expect((await own_.deliveries.claimDue(id, now, lease(now))).kind).toBe('claimed');
        expect(await own_.deliveries.postpone(id, 1, lease(now), now, now)).toBe(true);
        const claim = await own_.deliveries.claimDue(id, now, lease(now));
        expect(claim.kind).toBe('claimed');
        const attempt = { series: 1, attempt: 1, startedAt: now, durationMs: 1, statusCode: 204 };
        expect(await own_.deliveries.recordAttempt(id, attempt, { status: 'delivered' }, now)).toBe(true);
      }
      const after = await scans(ownDb);
      expect(after.rowsScanned - before.rowsScanned).toBe(0);
    } finally {
      await ownDb.$disconnect();
      await own.drop();
    }
  });
});

/** Rows this backend read by scanning whole tables of deliveries and edits, flushed now rather than at Postgres's leisure. */
async function scans(on: Db): Promise<{ rowsScanned: number }> {
  await on.$executeRawUnsafe('SELECT 1 FROM (SELECT pg_stat_force_next_flush()) flushed');
  await on.$executeRawUnsafe('SELECT 1 FROM (SELECT pg_stat_clear_snapshot()) cleared');
  const [row] = await on.$queryRawUnsafe<{ rowsScanned: number }[]>(
    `SELECT sum(seq_tup_read)::int AS "rowsScanned" FROM pg_stat_user_tables WHERE relname IN ('CallbackDelivery', 'Edit')`,
  );
  return row!;
}
