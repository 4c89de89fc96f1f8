import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EditTransitions } from '../../src/engine/transitions.js';
import type { Prisma } from '../../src/generated/prisma/client.js';
import { createPrisma, type Db } from '../../src/infra/prisma.js';
import { EditRepository } from '../../src/store/edits/repository.js';
import { isolatedDatabase } from '../helpers/services.js';

// The hot path's statements (one file each in store/edits) run on node-postgres, the rest of the code on Prisma: a row must
// read the same whichever way it came, and a status move must stay a compare-and-set of which exactly one racer wins.
let database: Awaited<ReturnType<typeof isolatedDatabase>>;
let db: Db;
let edits: EditRepository;
const zone = process.env.TZ;

beforeAll(async () => {
  // Timestamps are stored as UTC; pg's own parser would read them in the process's time zone.
  process.env.TZ = 'America/New_York';
  database = await isolatedDatabase();
  db = createPrisma(database.url, { max: 4 });
  edits = new EditRepository(db);
});
afterAll(async () => {
  process.env.TZ = zone;
  await db?.$disconnect();
  await database?.drop();
});

const newEdit = () =>
  edits.create({
    id: randomUUID(),
    model: 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image',
    input: { prompt: 'p', image_urls: ['https://example.com/a.jpg'], size: '2K', num_images: '1' },
    metadata: { order: 7 },
    clientId: 'key_statements',
    estimatedCostMicroCents: 45_000,
    imagesOrdered: 1,
  });
const prismaRow = (id: string) => db.edit.findUniqueOrThrow({ where: { id } });

describe('rows of the hot statements', () => {
  it('are the rows Prisma reads, field for field, in a process whose time zone is not UTC', async () => {
    expect(new Date(0).getTimezoneOffset()).not.toBe(0);
    const created = await newEdit();
    expect(created).toEqual(await prismaRow(created.id));

    const claimed = await edits.claimFirstSubmit(created.id);
    if (!claimed || claimed === 'no-slot') throw new Error('the first submit was not claimed');
    expect(claimed.attempt).toEqual(await db.submitAttempt.findUniqueOrThrow({ where: { id: claimed.attempt.id } }));
    expect(claimed.edit).toEqual(await prismaRow(created.id));

    const submittedAt = new Date('2026-03-01T23:30:00.123Z');
    await edits.recordSubmitAccepted(
      claimed.attempt.id,
      created.id,
      { upstreamJobId: `job_${created.id}`, submittedAt },
      { cause: 'accepted', data: { upstreamStatus: 'pending' } },
    );
    const completedAt = new Date('2026-03-02T00:15:00.456Z');
    const moved = await edits.move(created.id, 'completed', {
      cause: 'webhook completed',
      data: { upstreamStatus: 'completed', outputs: [{ url: 'https://cdn.example.com/x.png', type: 'image' }], completedAt },
    });
    expect(moved).toMatchObject({ moved: true, from: 'submitted' });
    const stored = await prismaRow(created.id);
    expect(moved.edit).toEqual(stored);
    expect(stored).toMatchObject({
      submittedAt,
      completedAt,
      upstreamJobId: `job_${created.id}`,
      outputs: [{ url: 'https://cdn.example.com/x.png', type: 'image' }],
    });
  });

  it('of a move that does not happen, are the edit as it is now', async () => {
    const created = await newEdit();
    await edits.move(created.id, 'cancelled', { cause: 'first' });
    const again = await edits.move(created.id, 'failed', { cause: 'too late' });
    expect(again).toEqual({ moved: false, edit: await prismaRow(created.id) });
    expect(await edits.move(randomUUID(), 'failed', { cause: 'nobody' })).toEqual({ moved: false, edit: null });
  });
});

describe('a status move', () => {
  it('of 20 racing writers, happens once, for one of them, with one history row; the others see it happened', async () => {
    const { id } = await newEdit();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => edits.move(id, i % 2 ? 'cancelled' : 'failed', { cause: `racer ${i}`, data: { completedAt: new Date() } })),
    );
    const winners = results.filter((r) => r.moved);
    expect(winners).toHaveLength(1);
    const won = winners[0]!.edit!.status;
    expect((await edits.history(id)).map((h) => [h.fromStatus, h.toStatus])).toEqual([
      [null, 'queued'],
      ['queued', won],
    ]);
    for (const loser of results.filter((r) => !r.moved)) expect(loser.edit).toEqual(await prismaRow(id));
  });

  it('claims the first submit of an edit once, however many workers ask', async () => {
    const { id } = await newEdit();
    const claims = await Promise.all(Array.from({ length: 10 }, () => edits.claimFirstSubmit(id)));
    expect(claims.filter((c) => c && c !== 'no-slot')).toHaveLength(1);
    expect(await db.submitAttempt.count({ where: { editId: id } })).toBe(1);
    expect((await prismaRow(id)).status).toBe('submitting');
    // An edit that was sent before is not a first submit: the caller reads it and decides.
    expect(await edits.claimFirstSubmit(id)).toBeNull();
  });
});

const model = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';

describe('a guarded move', () => {
  const sent = async (imagesOrdered = 1) => {
    const edit = await edits.create({ id: randomUUID(), model, input: { prompt: 'p' }, clientId: 'key_guards', estimatedCostMicroCents: 1, imagesOrdered });
    expect(await edits.claimFirstSubmit(edit.id)).toMatchObject({ attempt: { outcome: 'in_flight' } });
    return edit.id;
  };

  it('takes a job only onto an edit that holds it, or holds none and may have made it', async () => {
    const never = await newEdit();
    expect(await edits.move(never.id, 'failed', { cause: 'job of nobody', guard: { takesJob: 'job_unsent' } })).toMatchObject({ moved: false });

    const id = await sent();
    const adopted = await edits.move(id, 'processing', { cause: 'adopts', data: { upstreamJobId: `job_${id}` }, guard: { takesJob: `job_${id}` } });
    expect(adopted).toMatchObject({ moved: true, edit: { upstreamJobId: `job_${id}` } });
    expect(await edits.move(id, 'completed', { cause: 'foreign', guard: { takesJob: 'job_foreign' } })).toMatchObject({ moved: false });
    expect(await edits.move(id, 'completed', { cause: 'its own', guard: { takesJob: `job_${id}` } })).toMatchObject({ moved: true });
  });

  it('with oneImageOrdered, moves only an edit that asked for one image', async () => {
    const four = await sent(4);
    const guard = { takesJob: `job_${four}`, oneImageOrdered: true };
    expect(await edits.move(four, 'completed', { cause: 'one image named', guard })).toMatchObject({ moved: false });
    expect(await edits.move(four, 'completed', { cause: 'all outputs', guard: { takesJob: `job_${four}` } })).toMatchObject({ moved: true });
    const one = await sent(1);
    expect(await edits.move(one, 'completed', { cause: 'one image named', guard: { takesJob: `job_${one}`, oneImageOrdered: true } })).toMatchObject({
      moved: true,
    });
  });
});

describe('edits accepted at the same time', () => {
  const accept = (input: Prisma.InputJsonObject, extra: { callbackUrl?: string; metadata?: Prisma.InputJsonObject } = {}) =>
    edits.create({ id: randomUUID(), model, input, clientId: 'key_grouped', estimatedCostMicroCents: 45_000, imagesOrdered: 1, ...extra });

  it('are stored by a few statements, each with its history row, as Prisma reads them', async () => {
    const created = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        accept(
          { prompt: `p "${i}" \\ ü`, image_urls: ['https://example.com/a.jpg'], num_images: '1' },
          i % 3 ? { callbackUrl: `https://hooks.example.com/${i}`, metadata: { order: i, quote: 'a"b' } } : {},
        ),
      ),
    );
    for (const edit of created) expect(edit).toEqual(await prismaRow(edit.id));
    const histories = await db.editTransition.groupBy({ by: ['editId'], where: { editId: { in: created.map((e) => e.id) } }, _count: true });
    expect(histories.map((h) => h._count)).toEqual(created.map(() => 1));
    // Rows written by one transaction share its id (xmin): asked for in one turn, the 120 went in as one statement.
    const transactions = await db.$queryRaw<{ n: number }[]>`
      SELECT count(DISTINCT xmin::text)::int AS n FROM "Edit" WHERE "id" = ANY(${created.map((e) => e.id)}::uuid[])`;
    expect(transactions[0]!.n).toBe(1);
  });

  it('fail alone when Postgres refuses one of them', async () => {
    const results = await Promise.allSettled([
      accept({ prompt: 'fine', image_urls: ['https://example.com/a.jpg'] }),
      // jsonb refuses U+0000; the API refuses it long before this, so only the repository can be handed one.
      accept({ prompt: 'bad \u0000 byte', image_urls: ['https://example.com/a.jpg'] }),
      accept({ prompt: 'fine too', image_urls: ['https://example.com/a.jpg'] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    for (const r of results) if (r.status === 'fulfilled') expect(await prismaRow(r.value.id)).toEqual(r.value);
  });
});

describe('the statements of a webhook and a submit answer', () => {
  it("read only their own edit's rows, however stale the planner's statistics", async () => {
    // Its own database and one connection: the scan counters read below are this backend's alone.
    const own = await isolatedDatabase();
    const ownDb = createPrisma(own.url, { max: 1 });
    try {
      const repo = new EditRepository(ownDb);
      const transitions = new EditTransitions(repo, () => {});
      await ownDb.$executeRawUnsafe('ANALYZE'); // statistics of empty tables, as after a deploy on a quiet night
      const accept = () =>
        repo.create({ id: randomUUID(), model, input: { prompt: 'p' }, clientId: 'key_scans', estimatedCostMicroCents: 1, imagesOrdered: 1 });
      // A backlog: 1,000 edits sent and answered, 1,000 queued (no job yet).
      for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 100 }, accept));
      await ownDb.$executeRawUnsafe(`INSERT INTO "SubmitAttempt" ("editId", "attempt", "outcome", "startedAt", "tokenizedWebhookUrl")
        SELECT "id", 1, 'accepted', now(), true FROM "Edit" LIMIT 1000`);
      await ownDb.$executeRawUnsafe(
        `UPDATE "Edit" SET "status" = 'submitted', "upstreamJobId" = 'job_' || "id" WHERE "id" IN (SELECT "editId" FROM "SubmitAttempt")`,
      );
      // Edits whose webhook comes before their submit's answer (PixelByte's usual order), then the answer.
      const sent = [];
      for (let i = 0; i < 20; i++) {
        const claimed = await repo.claimFirstSubmit((await accept()).id);
        if (!claimed || claimed === 'no-slot') throw new Error('not claimed');
        sent.push(claimed);
      }
      const before = await scans(ownDb);
      for (const { edit } of sent) {
        const jobId = `job_${edit.id}`;
        const webhook = { editId: edit.id, upstreamJobId: jobId, status: 'completed', rawBody: '{}', signedAt: new Date() };
        const result = { jobId, status: 'completed' as const, outputs: [{ url: 'https://cdn.example.com/x.png', type: 'image' }] };
        expect((await transitions.applyUpstreamResult(edit.id, result, 'webhook completed', webhook)).moved).toBe(true);
      }
      for (const { edit, attempt } of sent) {
        await repo.recordSubmitAccepted(attempt.id, edit.id, { upstreamJobId: `job_${edit.id}` }, { cause: 'accepted', data: {} });
      }
      const after = await scans(ownDb);
      // Before: each webhook hashed all 1,020 attempts, and read every queued edit's entry in the job index.
      expect(after.attemptRowsScanned - before.attemptRowsScanned).toBe(0);
      expect(after.jobIndexEntriesRead - before.jobIndexEntriesRead).toBeLessThanOrEqual(sent.length * 2);
    } finally {
      await ownDb.$disconnect();
      await own.drop();
    }
  });
});

/** This backend's scan counters, flushed now rather than at Postgres's leisure. */
async function scans(on: Db): Promise<{ attemptRowsScanned: number; jobIndexEntriesRead: number }> {
  await on.$executeRawUnsafe('SELECT 1 FROM (SELECT pg_stat_force_next_flush()) flushed');
  await on.$executeRawUnsafe('SELECT 1 FROM (SELECT pg_stat_clear_snapshot()) cleared');
  const [row] = await on.$queryRawUnsafe<{ attemptRowsScanned: number; jobIndexEntriesRead: number }[]>(`
    SELECT (SELECT seq_tup_read FROM pg_stat_user_tables WHERE relname = 'SubmitAttempt')::int AS "attemptRowsScanned",
           (SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 'Edit_upstreamJobId_key')::int AS "jobIndexEntriesRead"`);
  return row!;
}
