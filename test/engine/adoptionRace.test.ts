import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EditTransitions } from '../../src/engine/transitions.js';
import { eventually, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

// A webhook that beats the submit response adopts its job; the submit response may record that same job while
// the adoption is under way. Postgres decides the order here: the test holds the edit's row lock, lets the
// adoption's UPDATE queue behind it, records the submit's answer in that locked transaction, then lets go.
let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  // API only: no worker submits or sweeps the edit behind the test's back.
  ({ t, stop } = await startRelayWithSimulator({ ROLE: 'api' }));
});
afterAll(() => stop?.());

async function waitingOnALock(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
  return rows[0].n > 0;
}

describe('a webhook adopting the job its submit response records at the same moment', () => {
  it('is applied all the same, not left for the reconciler', async () => {
    const posted = await t.relay.app!.inject({
      method: 'POST',
      url: '/v1/edits',
      headers: t.auth,
      payload: { input: { prompt: 'race', image_urls: ['https://example.com/a.jpg'] } },
    });
    const id = posted.json().id as string;
    expect(await t.edits.beginSubmitAttempt(id, 1, 'submit attempt 1')).toMatchObject({ outcome: 'in_flight' });

    const transitions = new EditTransitions(t.edits, () => {});
    const locker = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM "Edit" WHERE id = $1 FOR UPDATE`, [id]);
      const applying = transitions.applyUpstreamResult(
        id,
        { jobId: 'job_race', status: 'completed', outputs: [{ url: 'https://cdn.example.com/job_race.png', type: 'image' }] },
        'webhook completed',
      );
      await eventually(async () => ((await waitingOnALock(locker)) ? true : undefined), 10_000, 'the adoption to wait on the row lock');
      // What recordSubmitAccepted writes: the attempt and the edit learn the job, the edit moves to submitted.
      await locker.query(`UPDATE "SubmitAttempt" SET outcome = 'accepted', "upstreamJobId" = 'job_race', "finishedAt" = now() WHERE "editId" = $1`, [id]);
      await locker.query(`UPDATE "Edit" SET status = 'submitted', "upstreamJobId" = 'job_race', "updatedAt" = now() WHERE id = $1`, [id]);
      await locker.query(
        `INSERT INTO "EditTransition" ("editId", "clientId", "fromStatus", "toStatus", cause)
         SELECT id, "clientId", 'submitting', 'submitted', 'PixelByte accepted job job_race' FROM "Edit" WHERE id = $1`,
        [id],
      );
      await locker.query('COMMIT');

      const applied = await applying;
      expect(applied.moved).toBe(true);
    } finally {
      await locker.end();
    }
    const edit = (await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: t.auth })).json();
    expect(edit).toMatchObject({ status: 'completed', upstream: { jobId: 'job_race' }, outputs: [{ url: 'https://cdn.example.com/job_race.png' }] });
  });
});
