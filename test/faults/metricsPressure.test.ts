import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_APPLICATION_NAME } from '../../src/infra/metricsDatabase.js';
import { eventually, type RelayWithSimulator, startRelayWithSimulator } from '../helpers/relay.js';

// Tables the scrape reads and an idle relay's API and workers never touch: GET /v1/edits reads Edit and
// CallbackDelivery, the sweepers Edit and CallbackDelivery. Locked, they hold up the scrape and nothing else.
const SCRAPE_ONLY_TABLES = ['SubmitAttempt', 'EditTransition', 'WebhookEvent', 'CallbackAttempt'];
const STATEMENT_TIMEOUT_MS = 1_000;
// Small enough that scrape reads piling up on the API's pool (four blocked statements each, a new read every 5 s)
// would take all of it within the test.
const API_POOL = 6;
const PRESSURE_MS = 8_000;

let relay: RelayWithSimulator;
let locker: pg.Client;
let watcher: pg.Client;

beforeAll(async () => {
  relay = await startRelayWithSimulator({ DATABASE_POOL_MAX: String(API_POOL), METRICS_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) });
  locker = new pg.Client({ connectionString: relay.t.config.DATABASE_URL });
  watcher = new pg.Client({ connectionString: relay.t.config.DATABASE_URL });
  await Promise.all([locker.connect(), watcher.connect()]);
});

afterAll(async () => {
  await locker?.query('ROLLBACK').catch(() => {});
  await Promise.all([locker?.end(), watcher?.end()]);
  await relay?.stop();
});

const postgresUp = (text: string) => /^pixelrelay_metrics_source_up\{source="postgres"\} (\d)$/m.exec(text)?.[1];

describe('metrics reads that Postgres holds up', () => {
  it('leave the API its connections: GET /v1/edits answers under 25 scrapes a second, one scrape query runs at a time, Postgres cancels it past METRICS_STATEMENT_TIMEOUT_MS, and the scrape reads again once the lock is gone', async () => {
    const { t } = relay;
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${SCRAPE_ONLY_TABLES.map((name) => `"${name}"`).join(', ')} IN ACCESS EXCLUSIVE MODE`);
    const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

    // Every query waiting on the lock is a scrape's: how many at once, how long the oldest has waited, on which connections.
    const held: { waiting: number; oldestMs: number; apps: string[] }[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const { rows } = await watcher.query<{ waiting: number; oldestMs: number; apps: string[] }>(
          `SELECT count(*)::int AS waiting, coalesce(max(extract(epoch FROM clock_timestamp() - query_start) * 1000), 0)::float8 AS "oldestMs",
                  coalesce(array_agg(DISTINCT application_name), '{}') AS apps
           FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`,
          [lockerPid],
        );
        held.push(rows[0]!);
        await sleep(100);
      }
    })();

    const scrapes: Promise<{ status: number; up: string | undefined }>[] = [];
    const scraping = setInterval(() => {
      scrapes.push(
        fetch(`${t.relay.url}/metrics`).then(async (res) => {
          const text = await res.text();
          return { status: res.status, up: postgresUp(text) };
        }),
      );
    }, 40);

    const lists: { status: number; ms: number }[] = [];
    const until = Date.now() + PRESSURE_MS;
    try {
      while (Date.now() < until) {
        const started = performance.now();
        const res = await fetch(`${t.relay.url}/v1/edits`, { headers: t.auth, signal: AbortSignal.timeout(10_000) });
        await res.text();
        lists.push({ status: res.status, ms: performance.now() - started });
        await sleep(200);
      }
    } finally {
      clearInterval(scraping);
      watching = false;
      await watch;
    }

    expect(lists.length).toBeGreaterThan(10);
    for (const [i, list] of lists.entries()) {
      expect(list.status, `GET /v1/edits #${i}`).toBe(200);
      expect(list.ms, `GET /v1/edits #${i}`).toBeLessThan(1_000);
    }
    // The lock did hold scrape queries up, never more than the scrape pool's one connection's worth.
    expect(Math.max(...held.map((h) => h.waiting))).toBe(1);
    expect(new Set(held.flatMap((h) => h.apps))).toEqual(new Set([METRICS_APPLICATION_NAME]));
    // Cancelled by Postgres, not abandoned by the relay: none stays long past its statement timeout.
    expect(Math.max(...held.map((h) => h.oldestMs))).toBeLessThan(STATEMENT_TIMEOUT_MS + 1_000);

    const answered = await Promise.all(scrapes);
    expect(answered.length).toBeGreaterThan(100);
    expect(answered.filter((s) => s.status !== 200)).toEqual([]);
    expect(answered.some((s) => s.up === '0')).toBe(true);

    await locker.query('ROLLBACK');
    await eventually(
      async () => (postgresUp(await (await fetch(`${t.relay.url}/metrics`)).text()) === '1' ? true : undefined),
      15_000,
      'a scrape that read Postgres',
    );
  }, 60_000);
});
