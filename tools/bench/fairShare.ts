/**
 * `npm run bench:fair`: the fair pick (store/edits/fairPick.ts) on its own, against a Postgres database of the bench's
 * own (made, migrated and dropped here; DATABASE_URL names the server). Two measurements:
 *
 * - cost: `--clients N` clients (default 1,000) with `--backlog M` queued edits between them (default 100,000) and
 *   `--cap C` slots (default 100), all held; then `--picks P` times (default 1,000) one slot frees (the oldest
 *   in-flight edit completes) and a claim runs as a worker's does (advisory lock, pick, claim, in one transaction).
 *   Reported: the pick statement's execution time as Postgres measures it (EXPLAIN ANALYZE), the whole claim's time
 *   at the client (p50/p99), and the claims per second one claimer drains at (the cap allows C / job seconds).
 * - fairness: 3 clients of weights 1/1/2, each with a backlog larger than the run, `--fair-cap` slots (default 8); each
 *   step frees the oldest slot (every job lasts as long) and claims one; the share of the slots each client holds,
 *   sampled after every step while all three have edits waiting, against 25 / 25 / 50 %.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { dropDatabase, ensureDatabaseExists, withDatabase } from '../../src/infra/database.js';
import { applyMigrations } from '../../src/infra/migrate.js';
import { createPrisma, type Db } from '../../src/infra/prisma.js';
import { fairPick } from '../../src/store/edits/fairPick.js';
import { EditRepository } from '../../src/store/edits/repository.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CLIENTS = arg('clients', 1_000);
const BACKLOG = arg('backlog', 100_000);
const CAP = arg('cap', 100);
const PICKS = arg('picks', 1_000);
const FAIR_CAP = arg('fair-cap', 8);
const FAIR_STEPS = arg('fair-steps', 2_000);
// The planner's statistics taken on empty tables (as after a deploy on a quiet night), and never again during the run.
const STALE_STATS = process.argv.includes('--stale-stats');

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const MODEL = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';

async function freshDatabase(): Promise<{ url: string; db: Db }> {
  const server = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/';
  const url = withDatabase(server, `pixelrelay_bench_fair_${Date.now()}_${randomBytes(3).toString('hex')}`);
  await ensureDatabaseExists(url);
  await applyMigrations(url);
  return { url, db: createPrisma(url, { max: 4 }) };
}

/** `perClient` queued edits for each client, oldest first by createdAt, inserted by one statement (the triggers count them). */
async function backlog(db: Db, clients: string[], perClient: number): Promise<void> {
  await db.$executeRawUnsafe(
    `INSERT INTO "Edit" ("id", "model", "input", "clientId", "estimatedCostMicroCents", "createdAt", "updatedAt")
     SELECT gen_random_uuid(), $1, '{}'::jsonb, c, 1, now() - interval '1 day' + g * interval '1 ms', now()
     FROM unnest($2::text[]) AS c, generate_series(1, $3::int) AS g`,
    MODEL,
    clients,
    perClient,
  );
}

/** A queued edit the pick never takes (its deadline has passed): the job's own edit, as every claim needs one. */
async function tokenEdit(repo: EditRepository): Promise<string> {
  const edit = await repo.create({
    id: randomUUID(),
    model: MODEL,
    input: {},
    clientId: 'key_bench_token',
    estimatedCostMicroCents: 1,
    imagesOrdered: 1,
    deadlineAt: new Date(Date.now() - 60_000),
  });
  return edit.id;
}

/** Frees the slot held longest, as if its job had just finished at PixelByte. */
async function freeOldestSlot(db: Db): Promise<void> {
  await db.$executeRawUnsafe(`
    UPDATE "Edit" SET "status" = 'completed' WHERE "id" = (
      SELECT "id" FROM "Edit" WHERE "status" IN ('submitting', 'submitted', 'processing') ORDER BY "updatedAt", "id" LIMIT 1)`);
}

async function claim(repo: EditRepository, token: string, cap: number): Promise<string | null> {
  const claimed = await repo.claimFirstSubmit(token, cap);
  return claimed && claimed !== 'no-slot' ? claimed.edit.clientId : null;
}

async function measureCost(): Promise<Record<string, number>> {
  const { url, db } = await freshDatabase();
  try {
    const repo = new EditRepository(db);
    const clients = Array.from({ length: CLIENTS }, (_, i) => `key_bench_${String(i).padStart(5, '0')}`);
    if (STALE_STATS) {
      await db.$executeRawUnsafe('ALTER TABLE "Edit" SET (autovacuum_enabled = false)');
      await db.$executeRawUnsafe('ALTER TABLE "ClientQueue" SET (autovacuum_enabled = false)');
      await db.$executeRawUnsafe('ANALYZE');
    }
    await backlog(db, clients, Math.ceil(BACKLOG / CLIENTS));
    const token = await tokenEdit(repo);
    if (!STALE_STATS) await db.$executeRawUnsafe('ANALYZE');
    for (let i = 0; i < CAP; i++) await claim(repo, token, CAP);

    const claimMs: number[] = [];
    const pickMs: number[] = [];
    const started = performance.now();
    for (let i = 0; i < PICKS; i++) {
      await freeOldestSlot(db);
      const t0 = performance.now();
      if ((await claim(repo, token, CAP)) === null) throw new Error('a free slot was not claimed');
      claimMs.push(performance.now() - t0);
    }
    const drainSeconds = (performance.now() - started) / 1000;
    // The pick statement alone, as Postgres times it; rolled back, so nothing is marked served.
    await freeOldestSlot(db);
    const statement = fairPick({ editId: token, maxInFlight: CAP, now: new Date() });
    for (let i = 0; i < 200; i++) {
      const plan = await db
        .$transaction(async (tx) => {
          const rows = await tx.$queryRawUnsafe<{ 'QUERY PLAN': string }[]>(`EXPLAIN (ANALYZE, FORMAT TEXT) ${statement.text}`, ...statement.values);
          throw Object.assign(new Error('rollback'), { rows });
        })
        .catch((err: { rows?: { 'QUERY PLAN': string }[] }) => err.rows ?? []);
      const line = plan.map((r) => r['QUERY PLAN']).find((l) => l.startsWith('Execution Time'));
      if (line) pickMs.push(Number(/([\d.]+) ms/.exec(line)![1]));
    }
    claimMs.sort((a, b) => a - b);
    pickMs.sort((a, b) => a - b);
    return {
      clients: CLIENTS,
      backlog: BACKLOG,
      cap: CAP,
      picks: PICKS,
      pickQueryMsP50: round(percentile(pickMs, 50), 3),
      pickQueryMsP99: round(percentile(pickMs, 99), 3),
      claimMsP50: round(percentile(claimMs, 50)),
      claimMsP99: round(percentile(claimMs, 99)),
      // Each claim here also waits for the slot's freeing statement: the drain rate is a floor.
      claimsPerSecond: round(PICKS / drainSeconds, 1),
    };
  } finally {
    await db.$disconnect();
    await dropDatabase(url);
  }
}

async function measureFairness(): Promise<Record<string, number | string>> {
  const { url, db } = await freshDatabase();
  try {
    const repo = new EditRepository(db);
    const weights = [1, 1, 2];
    const ids: string[] = [];
    for (const [i, weight] of weights.entries()) {
      const id = randomUUID();
      await db.client.create({ data: { id, name: `weight ${weight} #${i}`, weight } });
      ids.push(id);
    }
    await backlog(db, ids, FAIR_STEPS + FAIR_CAP);
    const token = await tokenEdit(repo);
    for (let i = 0; i < FAIR_CAP; i++) await claim(repo, token, FAIR_CAP);
    const held = ids.map(() => 0);
    for (let step = 0; step < FAIR_STEPS; step++) {
      await freeOldestSlot(db);
      await claim(repo, token, FAIR_CAP);
      const rows = await db.edit.groupBy({ by: ['clientId'], where: { status: { in: ['submitting', 'submitted', 'processing'] } }, _count: true });
      for (const row of rows) held[ids.indexOf(row.clientId)]! += row._count;
    }
    const total = held.reduce((a, b) => a + b, 0);
    const share = held.map((h) => round((100 * h) / total, 1));
    return { weights: weights.join('/'), cap: FAIR_CAP, steps: FAIR_STEPS, sharePercent: share.join(' / '), expectedPercent: '25 / 25 / 50' };
  } finally {
    await db.$disconnect();
    await dropDatabase(url);
  }
}

const cost = await measureCost();
console.log(JSON.stringify({ cost }, null, 2));
const fairness = await measureFairness();
console.log(JSON.stringify({ fairness }, null, 2));
process.exit(0);
