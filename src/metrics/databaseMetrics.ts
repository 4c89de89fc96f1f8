import type { Registry } from 'prom-client';
import { Prisma } from '../generated/prisma/client.js';
import { literalList, type SqlQuery } from '../infra/sql.js';
import { type EditStatus, isTerminal, UPSTREAM_SLOT_HOLDERS } from '../store/edits/status.js';
import { histogramSamples, type Labels, registerScrapedMetric, type Sample } from './scrapedMetric.js';
import type { SourceReader } from './source.js';
import { readUploadStats, UPLOAD_FAMILIES, type UploadRow } from './uploadMetrics.js';

/** Upper bounds (seconds) of the submit latency buckets. */
export const SUBMIT_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;
/** Upper bounds (seconds) of the mirror latency buckets: from `storing` to `completed`. */
export const MIRROR_SECONDS_BUCKETS = [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900] as const;

/**
 * The history cause submitEdit writes when it resends a submit whose outcome was never known and nothing rules
 * out that the first one made a job: the only record of a possible second charge.
 */
export const POSSIBLE_DUPLICATE_CHARGE = 'a duplicate charge is possible';

interface EditRow {
  model: string;
  status: EditStatus;
  edits: number;
  estimated: number;
  charged: number;
  refunded: number;
}
interface SubmitRow {
  outcome: string;
  code: string;
  attempts: number;
  finished: number;
  seconds: number;
  buckets: number[];
}
interface WebhookRow {
  status: string;
  adopted: boolean;
  webhooks: number;
}

export interface DatabaseStats {
  edits: EditRow[];
  submits: SubmitRow[];
  possibleDuplicateCharges: number;
  webhooks: WebhookRow[];
  callbackDeliveries: { status: string; deliveries: number }[];
  callbackAttempts: { outcome: string; attempts: number }[];
  uploads: UploadRow[];
  mirrors: MirrorRow;
  clientQueues: ClientQueueRow[];
}

interface ClientQueueRow {
  clientId: string;
  queued: number;
  inFlight: number;
}

interface MirrorRow {
  finished: number;
  outputsStored: number;
  outputsFailed: number;
  bytesStored: number;
  seconds: number;
  buckets: number[];
}

const num = (v: unknown) => Number(v ?? 0);

/**
 * Every Postgres-backed family in one round: one grouped query per table, one after another in one snapshot
 * (see infra/metricsDatabase.ts). Each scans its table (docs/operations.md, Metrics: the cost on a large table), so
 * the answer is shared by all metrics of a scrape.
 */
export async function readDatabaseStats(q: SqlQuery): Promise<DatabaseStats> {
  const bucketColumns = SUBMIT_SECONDS_BUCKETS.map((le) => `count(*) FILTER (WHERE "finishedAt" - "startedAt" <= interval '${le} seconds')::int`).join(', ');
  const edits = await q.rows(Prisma.sql`
    SELECT model, status::text AS status, count(*)::int AS edits,
           sum("estimatedCostMicroCents")::bigint AS estimated,
           sum("costMicroCents")::bigint AS charged,
           sum(CASE status WHEN 'cancelled' THEN coalesce("refundedMicroCents", "costMicroCents")
                           WHEN 'failed' THEN "costMicroCents" END)::bigint AS refunded
    FROM "Edit" GROUP BY model, status`);
  // The bucket bounds are our own constants, never input: safe to splice into the statement.
  const submits = await q.rows(Prisma.sql`
    SELECT outcome::text AS outcome, coalesce("upstreamCode", '') AS code, count(*)::int AS attempts,
           count("finishedAt")::int AS finished,
           coalesce(sum(extract(epoch FROM "finishedAt" - "startedAt")), 0)::float8 AS seconds,
           ARRAY[${Prisma.raw(bucketColumns)}] AS buckets
    FROM "SubmitAttempt" GROUP BY outcome, "upstreamCode"`);
  // Only edits that were submitted more than once can have one; their history is found by its index.
  const duplicates = await q.rows(Prisma.sql`
    SELECT count(*)::int AS n FROM "EditTransition"
    WHERE "editId" IN (SELECT "editId" FROM "SubmitAttempt" WHERE attempt > 1)
      AND cause LIKE ${`%${POSSIBLE_DUPLICATE_CHARGE}%`}`);
  const webhooks = await q.rows(Prisma.sql`
    SELECT w.status, (w."upstreamJobId" = e."upstreamJobId") IS TRUE AS adopted, count(*)::int AS webhooks
    FROM "WebhookEvent" w JOIN "Edit" e ON e.id = w."editId" GROUP BY 1, 2`);
  const deliveries = await q.rows(Prisma.sql`SELECT status::text AS status, count(*)::int AS deliveries FROM "CallbackDelivery" GROUP BY 1`);
  const attempts = await q.rows(Prisma.sql`
    SELECT CASE WHEN "statusCode" IS NULL THEN 'no_answer' ELSE ("statusCode" / 100)::text || 'xx' END AS outcome, count(*)::int AS attempts
    FROM "CallbackAttempt" GROUP BY 1`);
  const mirrorBuckets = MIRROR_SECONDS_BUCKETS.map((le) => `count(*) FILTER (WHERE "finishedAt" - "createdAt" <= interval '${le} seconds')::int`).join(', ');
  const [mirrors] = await q.rows(Prisma.sql`
    SELECT count("finishedAt")::int AS finished, coalesce(sum("outputsStored"), 0)::bigint AS stored,
           coalesce(sum("outputsFailed"), 0)::bigint AS failed, coalesce(sum("bytesStored"), 0)::bigint AS bytes,
           coalesce(sum(extract(epoch FROM "finishedAt" - "createdAt")), 0)::float8 AS seconds,
           ARRAY[${Prisma.raw(mirrorBuckets)}] AS buckets
    FROM "MirrorTask" WHERE "finishedAt" IS NOT NULL`);
  // Waiting: one row per client, kept by triggers; in flight: the few edits holding a slot, from the status index.
  const clientQueues = await q.rows(Prisma.sql`
    SELECT coalesce(w."clientId", f."clientId") AS "clientId", coalesce(w."queued", 0)::int AS "queued", coalesce(f."n", 0)::int AS "inFlight"
    FROM (SELECT "clientId", "queued" FROM "ClientQueue" WHERE "queued" > 0) w
    FULL JOIN (SELECT "clientId", count(*) AS "n" FROM "Edit" WHERE "status" IN (${literalList(UPSTREAM_SLOT_HOLDERS)}) GROUP BY 1) f
      ON f."clientId" = w."clientId"
    ORDER BY 1`);
  return {
    clientQueues: clientQueues.map((r) => ({ clientId: String(r.clientId), queued: num(r.queued), inFlight: num(r.inFlight) })),
    mirrors: {
      finished: num(mirrors?.finished),
      outputsStored: num(mirrors?.stored),
      outputsFailed: num(mirrors?.failed),
      bytesStored: num(mirrors?.bytes),
      seconds: num(mirrors?.seconds),
      buckets: ((mirrors?.buckets as unknown[] | undefined) ?? []).map(num),
    },
    edits: edits.map((r) => ({
      model: String(r.model),
      status: r.status as EditStatus,
      edits: num(r.edits),
      estimated: num(r.estimated),
      charged: num(r.charged),
      refunded: num(r.refunded),
    })),
    submits: submits.map((r) => ({
      outcome: String(r.outcome),
      code: String(r.code),
      attempts: num(r.attempts),
      finished: num(r.finished),
      seconds: num(r.seconds),
      buckets: (r.buckets as unknown[]).map(num),
    })),
    possibleDuplicateCharges: num(duplicates[0]?.n),
    webhooks: webhooks.map((r) => ({ status: String(r.status), adopted: r.adopted === true, webhooks: num(r.webhooks) })),
    callbackDeliveries: deliveries.map((r) => ({ status: String(r.status), deliveries: num(r.deliveries) })),
    callbackAttempts: attempts.map((r) => ({ outcome: String(r.outcome), attempts: num(r.attempts) })),
    uploads: await readUploadStats(q),
  };
}

/** Sums `value` over rows grouped by the labels `key` gives them. */
function sumBy<R>(rows: R[], key: (row: R) => Labels | null, value: (row: R) => number): Sample[] {
  const groups = new Map<string, Sample>();
  for (const row of rows) {
    const labels = key(row);
    if (!labels) continue;
    const id = JSON.stringify(labels);
    const sample = groups.get(id) ?? { labels, value: 0 };
    sample.value += value(row);
    groups.set(id, sample);
  }
  return [...groups.values()];
}

/**
 * The families Postgres answers: totals that survive restarts exactly (an edit, an attempt, a webhook or a
 * callback attempt, once written, stays), and gauges of what is in each state now.
 */
export function registerDatabaseMetrics(registry: Registry, read: SourceReader<DatabaseStats>): void {
  const from =
    <T>(pick: (stats: DatabaseStats) => T[], toSamples: (rows: T[]) => Sample[]) =>
    async () => {
      const stats = (await read()).value;
      return stats ? toSamples(pick(stats)) : [];
    };
  const edits = (toSamples: (rows: EditRow[]) => Sample[]) => from((s) => s.edits, toSamples);

  registerScrapedMetric(registry, {
    name: 'pixelrelay_edits_accepted_total',
    help: 'Edits accepted (POST /v1/edits answered 202), by model. From Postgres.',
    type: 'counter',
    samples: edits((rows) =>
      sumBy(
        rows,
        (r) => ({ model: r.model }),
        (r) => r.edits,
      ),
    ),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_edits_finished_total',
    help: 'Edits that reached a final status (completed, failed, cancelled), by model and status. From Postgres.',
    type: 'counter',
    samples: edits((rows) =>
      sumBy(
        rows,
        (r) => (isTerminal(r.status) ? { model: r.model, status: r.status } : null),
        (r) => r.edits,
      ),
    ),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_client_edits',
    help: 'Edits of each client waiting for an upstream slot (state queued) and holding one (state in_flight), now. From Postgres.',
    type: 'gauge',
    samples: from(
      (s) => s.clientQueues,
      (rows) =>
        rows.flatMap((r) => [
          { labels: { client: r.clientId, state: 'queued' }, value: r.queued },
          { labels: { client: r.clientId, state: 'in_flight' }, value: r.inFlight },
        ]),
    ),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_edits_in_progress',
    help: 'Edits not yet finished, by model and status (queued, submitting, submitted, processing). From Postgres.',
    type: 'gauge',
    samples: edits((rows) =>
      sumBy(
        rows,
        (r) => (isTerminal(r.status) ? null : { model: r.model, status: r.status }),
        (r) => r.edits,
      ),
    ),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_estimated_micro_cents_total',
    help: 'Micro-cents estimated at accept time (the price list), by model. From Postgres.',
    type: 'counter',
    samples: edits((rows) =>
      sumBy(
        rows,
        (r) => ({ model: r.model }),
        (r) => r.estimated,
      ),
    ),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_charged_micro_cents_total',
    help: 'Micro-cents PixelByte reported charging when it accepted a submit, by model. From Postgres.',
    type: 'counter',
    samples: edits((rows) =>
      sumBy(
        rows,
        (r) => ({ model: r.model }),
        (r) => r.charged,
      ),
    ),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_refunded_micro_cents_total',
    help: 'Micro-cents PixelByte refunded, by model and reason: cancelled (its reported refund, else the charge) and failed (the charge; PixelByte refunds failed jobs). From Postgres.',
    type: 'counter',
    samples: edits((rows) =>
      sumBy(
        rows,
        (r) => (r.status === 'cancelled' || r.status === 'failed' ? { model: r.model, reason: r.status } : null),
        (r) => r.refunded,
      ),
    ),
  });

  registerScrapedMetric(registry, {
    name: 'pixelrelay_upstream_submit_attempts',
    help: 'Submits to PixelByte by recorded outcome (accepted, rejected, unknown, not_sent, in_flight) and PixelByte code. A gauge: an unknown outcome becomes accepted when its job is found. From Postgres.',
    type: 'gauge',
    samples: from(
      (s) => s.submits,
      (rows) =>
        sumBy(
          rows,
          (r) => ({ outcome: r.outcome, code: r.code }),
          (r) => r.attempts,
        ),
    ),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_upstream_submit_duration_seconds',
    help: 'Time from recording a submit to recording its answer (the call to PixelByte), by outcome, for every finished submit. From Postgres.',
    type: 'histogram',
    samples: from(
      (s) => s.submits,
      (rows) => {
        const byOutcome = new Map<string, { buckets: number[]; count: number; sum: number }>();
        for (const r of rows) {
          if (r.finished === 0) continue;
          const acc = byOutcome.get(r.outcome) ?? { buckets: SUBMIT_SECONDS_BUCKETS.map(() => 0), count: 0, sum: 0 };
          r.buckets.forEach((n, i) => {
            acc.buckets[i]! += n;
          });
          acc.count += r.finished;
          acc.sum += r.seconds;
          byOutcome.set(r.outcome, acc);
        }
        return [...byOutcome].flatMap(([outcome, h]) =>
          histogramSamples('pixelrelay_upstream_submit_duration_seconds', { outcome }, SUBMIT_SECONDS_BUCKETS, h.buckets, h.count, h.sum),
        );
      },
    ),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_upstream_possible_duplicate_charges_total',
    help: 'Submits resent after one whose outcome was never known, where nothing ruled out that it had made a job (each is noted in its edit’s history). From Postgres.',
    type: 'counter',
    samples: async () => {
      const stats = (await read()).value;
      return stats ? [{ value: stats.possibleDuplicateCharges }] : [];
    },
  });

  registerScrapedMetric(registry, {
    name: 'pixelrelay_webhooks_stored_total',
    help: 'Signed PixelByte webhooks stored (each job and status once per edit; repeats are not stored), by status. From Postgres.',
    type: 'counter',
    samples: from(
      (s) => s.webhooks,
      (rows) =>
        sumBy(
          rows,
          (r) => ({ status: r.status }),
          (r) => r.webhooks,
        ),
    ),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_webhooks_for_unadopted_jobs',
    help: 'Stored webhooks naming a job their edit did not adopt: evidence of a job PixelByte may have charged for besides the edit’s own. From Postgres.',
    type: 'gauge',
    samples: from(
      (s) => s.webhooks,
      (rows) =>
        sumBy(
          rows,
          (r) => (r.adopted ? null : { status: r.status }),
          (r) => r.webhooks,
        ),
    ),
  });

  const mirrors = (toSamples: (m: MirrorRow) => Sample[]) => async () => {
    const stats = (await read()).value;
    return stats ? toSamples(stats.mirrors) : [];
  };
  registerScrapedMetric(registry, {
    name: 'pixelrelay_mirror_bytes_stored_total',
    help: 'Bytes of outputs stored in the storage bucket (STORAGE_S3_BUCKET), counted as each edit completed. From Postgres.',
    type: 'counter',
    samples: mirrors((m) => [{ value: m.bytesStored }]),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_mirror_outputs_total',
    help: 'Outputs of completed edits by mirror result: stored in the bucket, or failed (completed at the deadline, or at once for one that can never be stored, with mirror.error). From Postgres.',
    type: 'counter',
    samples: mirrors((m) => [
      { labels: { result: 'stored' }, value: m.outputsStored },
      { labels: { result: 'failed' }, value: m.outputsFailed },
    ]),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_mirror_duration_seconds',
    help: 'Time each mirrored edit spent storing: from PixelByte’s result (storing) to completed. From Postgres.',
    type: 'histogram',
    samples: mirrors((m) =>
      m.finished === 0 ? [] : histogramSamples('pixelrelay_mirror_duration_seconds', {}, MIRROR_SECONDS_BUCKETS, m.buckets, m.finished, m.seconds),
    ),
  });

  registerScrapedMetric(registry, {
    name: 'pixelrelay_callback_deliveries',
    help: 'Client callbacks by delivery status: pending, delivered, failed (a dead letter until redelivered). From Postgres.',
    type: 'gauge',
    samples: from(
      (s) => s.callbackDeliveries,
      (rows) => rows.map((r) => ({ labels: { status: r.status }, value: r.deliveries })),
    ),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_callback_attempts_total',
    help: 'Client callback attempts by outcome: the HTTP status class the client answered (2xx is delivered), or no_answer (network error, timeout, refused address). From Postgres.',
    type: 'counter',
    samples: from(
      (s) => s.callbackAttempts,
      (rows) => rows.map((r) => ({ labels: { outcome: r.outcome }, value: r.attempts })),
    ),
  });

  for (const family of UPLOAD_FAMILIES) {
    registerScrapedMetric(registry, { name: family.name, help: family.help, type: 'counter', samples: from((s) => s.uploads, family.samples) });
  }
}
