import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EditPriority } from '../../src/generated/prisma/client.js';
import { createPrisma, type Db } from '../../src/infra/prisma.js';
import { EditRepository } from '../../src/store/edits/repository.js';
import { isolatedDatabase } from '../helpers/services.js';

// The pick under the upstream cap (store/edits/fairPick.ts), as every worker's first claim runs it.
let database: Awaited<ReturnType<typeof isolatedDatabase>>;
let db: Db;
let edits: EditRepository;

beforeAll(async () => {
  database = await isolatedDatabase();
  db = createPrisma(database.url, { max: 4 });
  edits = new EditRepository(db);
});
afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

const model = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';
let clock = Date.parse('2026-12-01T00:00:00Z');
const accept = async (clientId: string, extra: { priority?: EditPriority; deadlineAt?: Date } = {}) => {
  const edit = await edits.create({ id: randomUUID(), model, input: { prompt: 'p' }, clientId, estimatedCostMicroCents: 1, imagesOrdered: 1, ...extra });
  // Distinct, increasing ages: FIFO within a client is then unambiguous.
  clock += 1000;
  await db.edit.update({ where: { id: edit.id }, data: { createdAt: new Date(clock) } });
  return edit.id;
};
const counts = async (clientId: string) => ({
  queued: (await db.clientQueue.findUnique({ where: { clientId } }))?.queued,
  inFlight: await db.edit.count({ where: { clientId, status: { in: ['submitting', 'submitted', 'processing'] } } }),
});
/** Claims the next edit as a job for `jobEdit` would, and says whose it is. */
const pickWith = async (jobEdit: string, cap: number) => {
  const claimed = await edits.claimFirstSubmit(jobEdit, cap);
  if (claimed === null || claimed === 'no-slot') return claimed;
  return claimed.edit.id;
};
const finish = (id: string) => db.edit.update({ where: { id }, data: { status: 'completed' } });
/** Every edit of the tests before done with: each test starts from an idle PixelByte and an empty queue. */
const idle = () => db.edit.updateMany({ where: { status: { notIn: ['completed', 'failed', 'cancelled'] } }, data: { status: 'completed' } });
/** A queued edit the pick never takes (its deadline has passed): a job's own edit for picks that are all others'. */
const token = () => accept('key_fair_token', { deadlineAt: new Date(Date.now() - 1000) });

async function clientRow(weight: number, maxConcurrency: number | null = null): Promise<string> {
  const id = randomUUID();
  await db.client.create({ data: { id, name: `w${weight}`, weight, maxConcurrency } });
  return id;
}

describe('the fair pick', () => {
  it('serves a late client from its first edit, by priority then age within a client, and keeps ClientQueue exact', async () => {
    // ClientQueue counts only the waiting; in-flight counts are read from the edits, as the pick reads them.
    const a = 'key_fair_a';
    const b = 'key_fair_b';
    const fromA = [await accept(a), await accept(a), await accept(a), await accept(a)];
    const lowB = await accept(b, { priority: 'low' });
    const highB = await accept(b, { priority: 'high' });
    expect(await counts(a)).toEqual({ queued: 4, inFlight: 0 });

    // Whichever job runs, the slot goes by share: A first (equal shares, neither served yet: clientId breaks it), then B.
    expect(await pickWith(fromA[3]!, 2)).toBe(fromA[0]);
    expect(await pickWith(fromA[3]!, 2)).toBe(highB);
    expect(await pickWith(fromA[3]!, 2)).toBe('no-slot');
    expect(await counts(a)).toEqual({ queued: 3, inFlight: 1 });
    expect(await counts(b)).toEqual({ queued: 1, inFlight: 1 });

    // A slot frees: equal shares again, and A was served longest ago.
    await finish(fromA[0]!);
    expect(await pickWith(lowB, 2)).toBe(fromA[1]);
    await finish(highB);
    expect(await pickWith(fromA[3]!, 2)).toBe(lowB);
    // A job whose own edit was sent by another finds nothing to claim.
    expect(await pickWith(fromA[1]!, 2)).toBeNull();
    expect(await counts(b)).toEqual({ queued: 0, inFlight: 1 });
  });

  it('gives clients slots in proportion to their weights, and no more than their maxConcurrency', async () => {
    await idle();
    const light = await clientRow(1);
    const heavy = await clientRow(2);
    const capped = await clientRow(5, 1);
    const ids = new Map<string, string>();
    for (const client of [light, heavy, capped]) for (let i = 0; i < 6; i++) ids.set(await accept(client), client);
    const job = await token();
    const picked: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = await pickWith(job, 7);
      if (typeof id !== 'string') break;
      picked.push(ids.get(id)!);
    }
    const share = (client: string) => picked.filter((c) => c === client).length;
    // Seven slots: the capped client takes its one, the others split six by weight 1:2.
    expect([share(light), share(heavy), share(capped)]).toEqual([2, 4, 1]);
  });

  it('never picks an edit past its deadline', async () => {
    await idle();
    const late = 'key_fair_deadline';
    const expired = await accept(late, { deadlineAt: new Date(Date.now() - 1000) });
    const fine = await accept(late);
    expect(await pickWith(expired, 1)).toBe(fine);
    expect((await db.edit.findUniqueOrThrow({ where: { id: expired } })).status).toBe('queued');
  });
});
