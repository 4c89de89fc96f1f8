import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../../src/generated/prisma/client.js';
import type { Db } from '../../src/infra/prisma.js';
import { createMove } from '../../src/store/edits/moveEdit.js';
import { type EventStreamClient, openEventStream, type ServerEvent } from '../helpers/eventStream.js';
import { type RelayWithSimulator, startRelayWithSimulator } from '../helpers/relay.js';

// An API process alone (no workers): the edits stay where the test puts them. Re-reads every 100 ms.
let r: RelayWithSimulator;
beforeAll(async () => {
  r = await startRelayWithSimulator({ ROLE: 'api', WATCH_REREAD_MS: '100', EVENTS_PING_MS: '50' });
});
afterAll(() => r?.stop());

const body = { input: { prompt: 'Make the sky purple', image_urls: ['https://example.com/a.jpg'] } };

async function post(): Promise<string> {
  const res = await fetch(`${r.t.relay.url}/v1/edits`, {
    method: 'POST',
    headers: { ...r.t.auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const open = (lastEventId?: string) => openEventStream(`${r.t.relay.url}/v1/events`, { ...r.t.auth, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) });

/** The status events that come within `ms`, and the id of the last ping among them. */
async function during(stream: EventStreamClient, ms: number): Promise<{ statuses: ServerEvent[]; lastPing?: string }> {
  const deadline = Date.now() + ms;
  const statuses: ServerEvent[] = [];
  let lastPing: string | undefined;
  while (Date.now() < deadline) {
    const event = await stream.next(5_000);
    if (event === null) throw new Error('the stream ended');
    if (event.event === 'ping') lastPing = event.id;
    else statuses.push(event);
  }
  return { statuses, lastPing };
}

async function statusEvents(stream: EventStreamClient, count: number): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  while (events.length < count) {
    const event = await stream.next(5_000);
    if (event === null) throw new Error('the stream ended');
    if (event.event !== 'ping') events.push(event);
  }
  return events;
}

const summary = (events: ServerEvent[]) => events.map((e) => [JSON.parse(e.data).id, JSON.parse(e.data).status]);

describe('GET /v1/events when transactions commit out of id order', () => {
  it('holds a committed change back while an older transaction runs, then sends both in order; a resume from any id sent meanwhile skips neither', async () => {
    const stream = await open();
    expect((await stream.next())?.event).toBe('ping');
    const first = await post();
    expect(summary(await statusEvents(stream, 1))).toEqual([[first, 'queued']]);

    // T1 writes a status change of `first` (history id N) and stays open; then `second` is accepted and committed
    // (history id N + 1): a reader sees N + 1 while N is still in flight.
    const pool = (r.t.db.sql as unknown as { pool: import('pg').Pool }).pool;
    const t1 = await pool.connect();
    try {
      await t1.query('BEGIN');
      const { rows } = await t1.query<{ id: string }>(
        `INSERT INTO "EditTransition" ("editId", "clientId", "fromStatus", "toStatus", "cause")
         VALUES ($1, $2, 'queued', 'cancelled', 'test: a transaction that commits late') RETURNING "id"::text`,
        [first, r.t.clientId],
      );
      const late = BigInt(rows[0]!.id);
      const second = await post();
      const [row] = await r.t.db.$queryRaw<{ id: bigint }[]>`SELECT "id" FROM "EditTransition" WHERE "editId" = ${second}::uuid`;
      expect(row!.id).toBeGreaterThan(late);

      // The wake-up of `second` came, and many re-reads: nothing is sent while T1 runs, and no ping moves past it.
      const meanwhile = await during(stream, 800);
      expect(summary(meanwhile.statuses)).toEqual([]);
      expect(meanwhile.lastPing).toBeDefined();
      const resumeFrom = meanwhile.lastPing!;

      await t1.query('COMMIT');
      const both = await statusEvents(stream, 2);
      expect(summary(both)).toEqual([
        [first, 'cancelled'],
        [second, 'queued'],
      ]);
      stream.close();

      // A reader that went away while T1 ran resumes without a gap.
      const resumed = await open(resumeFrom);
      expect(summary(await statusEvents(resumed, 2))).toEqual(summary(both));
      resumed.close();
    } finally {
      await t1.query('ROLLBACK').catch(() => {});
      t1.release();
    }
  });

  it('keeps an edit’s own order when its later change’s transaction got its id first', async () => {
    const stream = await open();
    expect((await stream.next())?.event).toBe('ping');
    const id = await post();
    expect(summary(await statusEvents(stream, 1))).toEqual([[id, 'queued']]);
    await r.t.db.sql.transaction(async (q) => {
      // T2 takes its transaction id now; T1 moves the edit and commits; then T2 moves it on, with the smaller id.
      await q.rows(Prisma.sql`SELECT pg_current_xact_id()`);
      expect((await r.t.edits.move(id, 'submitting', { cause: 'test: T1' })).moved).toBe(true);
      const move = createMove({ sql: q } as unknown as Db, {});
      expect((await move(id, 'submitted', { cause: 'test: T2', data: { upstreamJobId: `job-${id}` } })).moved).toBe(true);
    });
    const rows = await r.t.db.$queryRaw<{ to: string; xid: string; own: string }[]>`
      SELECT "toStatus"::text AS "to", "eventXid"::text AS "xid", xmin::text AS "own" FROM "EditTransition"
      WHERE "editId" = ${id}::uuid AND "fromStatus" IS NOT NULL ORDER BY "id"`;
    // T2's own id is below T1's, so its change takes T1's eventXid.
    expect(rows.map((row) => row.to)).toEqual(['submitting', 'submitted']);
    expect(BigInt(rows[1]!.own)).toBeLessThan(BigInt(rows[0]!.own));
    expect(rows[1]!.xid).toBe(rows[0]!.xid);

    expect(summary(await statusEvents(stream, 2))).toEqual([
      [id, 'submitting'],
      [id, 'submitted'],
    ]);
    stream.close();
  });
});
