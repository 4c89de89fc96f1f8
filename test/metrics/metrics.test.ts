import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { CallbackReceiver } from '../helpers/callbackReceiver.js';
import { settledEdit } from '../helpers/edits.js';
import { eventually, startRelayWithSimulator, startTestRelay, type TestRelay } from '../helpers/relay.js';
import { signedWebhook, webhookPath } from '../helpers/webhooks.js';

// /metrics after a run of edits that covers every family: completed, failed, cancelled; a rejected, an unknown
// and a resent submit; a duplicate and two refused webhooks; a delivered and a dead-lettered callback.

const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';
const NANO = 'google/nano-banana/edit-image';
const MINI = 'openai/gpt-image-1-mini/edit-image';
const SEEDREAM = 'bytedance-plus/seedream-v5-lite/image-to-image';
const RUNWAY = 'runway/gen-4-turbo-image/edit-image';
const img = 'https://example.com/a.jpg';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

let sim: Simulator;
let receiver: CallbackReceiver;
let t: TestRelay;
let stop: () => Promise<void>;
const ids: Record<string, string> = {};

/** The exposition text as samples: `name{labels}` → value, labels sorted as written. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k!, v!] as const).sort(([a], [b]) => a.localeCompare(b));
    samples.set(`${m[1]}{${labels.map(([k, v]) => `${k}="${v}"`).join(',')}}`, Number(m[3]));
  }
  return samples;
}
const key = (name: string, labels: Record<string, string> = {}) =>
  `${name}{${Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

async function scrape(relay: TestRelay, headers: Record<string, string> = {}) {
  const res = await fetch(`${relay.relay.url}/metrics`, { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

const post = async (model: string, input: Record<string, unknown>, callbackUrl?: string) => {
  const res = await t.relay.app!.inject({
    method: 'POST',
    url: '/v1/edits',
    headers: t.auth,
    payload: { model, input, ...(callbackUrl ? { callbackUrl } : {}) },
  });
  expect(res.statusCode).toBe(202);
  return res.json().id as string;
};
const callbackOf = (id: string, status: string) =>
  eventually(
    async () => ((await t.db.callbackDelivery.findFirst({ where: { editId: id } }))?.status === status ? true : undefined),
    15_000,
    `callback ${status}`,
  );

beforeAll(async () => {
  receiver = await CallbackReceiver.start();
  receiver.script('/gone', 410);
  ({ sim, t, stop } = await startRelayWithSimulator(
    {
      ALLOW_HTTP_CALLBACKS: 'true',
      CALLBACK_ALLOW_PRIVATE: 'true',
      SUBMIT_FENCE_GRACE_MS: '300',
      // Only the scripted 502 may leave a submit's outcome unknown, however loaded the machine.
      UPSTREAM_TIMEOUT_MS: '15000',
    },
    { pendingMs: 700, processingMs: 100, webhookRetryDelaysMs: [100, 200] },
  ));

  // Completed, its webhook sent twice, its callback delivered.
  sim.nextSubmit({ kind: 'duplicate-webhook' });
  ids.duplicate = await post(PRO, { prompt: 'p', image_urls: [img], num_images: 2 }, `${receiver.url}/ok`);
  await settledEdit(t, ids.duplicate);
  await callbackOf(ids.duplicate, 'delivered');
  await eventually(() => (sim.deliveries.filter((d) => d.status === 200).length >= 2 ? true : undefined), 10_000, 'both copies of the webhook');
  // Completed at 4k, its callback answered 410 Gone: a dead letter at once.
  ids.gone = await post(NANO, { prompt: 'p', image_urls: [img], resolution: '4k' }, `${receiver.url}/gone`);
  await settledEdit(t, ids.gone);
  await callbackOf(ids.gone, 'failed');
  // Failed by PixelByte (charged, then refunded by PixelByte).
  sim.nextSubmit({ kind: 'generation-failure' });
  ids.failed = await post(MINI, { prompt: 'p', image_url: img });
  expect((await settledEdit(t, ids.failed)).status).toBe('failed');
  // PixelByte's own 500 first, then accepted.
  sim.nextSubmit({ kind: 'error', status: 500, code: 'INTERNAL_ERROR' });
  ids.retried = await post(PRO, { prompt: 'p', image_urls: [img] });
  await settledEdit(t, ids.retried);
  // A gateway's 502 before anything reached PixelByte: unknown, then resent after the fence, a duplicate charge possible.
  sim.nextSubmit({ kind: 'gateway-error', status: 502, jobCreated: false });
  ids.resent = await post(SEEDREAM, { prompt: 'p', image_urls: [img] });
  await settledEdit(t, ids.resent);
  // Cancelled while PixelByte holds it as pending: refunded.
  ids.cancelled = await post(RUNWAY, { prompt: 'p', image_urls: [img] });
  await eventually(async () => ((await t.edits.findById(ids.cancelled!))?.status === 'submitted' ? true : undefined), 10_000, 'submitted');
  const cancel = await t.relay.app!.inject({ method: 'POST', url: `/v1/edits/${ids.cancelled}/cancel`, headers: t.auth });
  expect(cancel.json()).toMatchObject({ status: 'cancelled' });

  // Two webhooks refused: a wrong URL token, and a signature that does not match.
  const edit = (await t.edits.findById(ids.retried))!;
  const payload = { jobId: edit.upstreamJobId, requestId: 'req_x', status: 'completed', completedAt: new Date().toISOString() };
  const wrongToken = await fetch(`${t.relay.url}${webhookPath(t.config, ids.retried, 'not-the-token')}`, { method: 'POST', ...signedWebhook(payload) });
  expect(wrongToken.status).toBe(401);
  const forged = signedWebhook(payload, { secret: 'whsec_not_pixelbytes' });
  expect((await fetch(`${t.relay.url}${webhookPath(t.config, ids.retried)}`, { method: 'POST', ...forged })).status).toBe(401);
}, 90_000);

afterAll(async () => {
  await stop?.();
  await receiver?.close();
});

describe('GET /metrics after a run of edits', () => {
  let samples: Map<string, number>;
  let text: string;
  const value = (name: string, labels?: Record<string, string>) => samples.get(key(name, labels));

  beforeAll(async () => {
    const res = await scrape(t);
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    text = res.text;
    samples = parseExposition(text);
  });

  it('reads every source, with the default process metrics beside', () => {
    expect(value('pixelrelay_metrics_source_up', { source: 'postgres' })).toBe(1);
    expect(value('pixelrelay_metrics_source_up', { source: 'redis' })).toBe(1);
    expect(value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE pixelrelay_edits_accepted_total counter');
    expect(text).toContain('# TYPE pixelrelay_upstream_submit_duration_seconds histogram');
  });

  it('counts edits accepted and finished by model and final status, none left in progress', () => {
    expect(value('pixelrelay_edits_accepted_total', { model: PRO })).toBe(2);
    for (const model of [NANO, MINI, SEEDREAM, RUNWAY]) expect(value('pixelrelay_edits_accepted_total', { model }), model).toBe(1);
    expect(value('pixelrelay_edits_finished_total', { model: PRO, status: 'completed' })).toBe(2);
    expect(value('pixelrelay_edits_finished_total', { model: NANO, status: 'completed' })).toBe(1);
    expect(value('pixelrelay_edits_finished_total', { model: SEEDREAM, status: 'completed' })).toBe(1);
    expect(value('pixelrelay_edits_finished_total', { model: MINI, status: 'failed' })).toBe(1);
    expect(value('pixelrelay_edits_finished_total', { model: RUNWAY, status: 'cancelled' })).toBe(1);
    expect([...samples.keys()].filter((k) => k.startsWith('pixelrelay_edits_finished_total{'))).toHaveLength(5);
    expect([...samples.keys()].filter((k) => k.startsWith('pixelrelay_edits_in_progress{'))).toEqual([]);
  });

  it('sums micro-cents estimated, charged and refunded', () => {
    const prices = { [PRO]: 90_000 + 45_000, [NANO]: 80_000, [MINI]: 11_000, [SEEDREAM]: 35_000, [RUNWAY]: 20_000 };
    for (const [model, total] of Object.entries(prices)) {
      expect(value('pixelrelay_estimated_micro_cents_total', { model }), model).toBe(total);
      expect(value('pixelrelay_charged_micro_cents_total', { model }), model).toBe(total);
    }
    expect(value('pixelrelay_refunded_micro_cents_total', { model: RUNWAY, reason: 'cancelled' })).toBe(20_000);
    expect(value('pixelrelay_refunded_micro_cents_total', { model: MINI, reason: 'failed' })).toBe(11_000);
    expect([...samples.keys()].filter((k) => k.startsWith('pixelrelay_refunded_micro_cents_total{'))).toHaveLength(2);
    // What the simulator's own ledger took, net of its refunds.
    const stats = sim.stats();
    expect(stats.chargedMicroCents).toBe(Object.values(prices).reduce((a, b) => a + b, 0));
    expect(stats.refundedMicroCents).toBe(31_000);
  });

  it('counts submits by outcome and code, unknown outcomes and the possible duplicate charge, with their latency', () => {
    expect(value('pixelrelay_upstream_submit_attempts', { outcome: 'accepted', code: '' })).toBe(6);
    expect(value('pixelrelay_upstream_submit_attempts', { outcome: 'rejected', code: 'INTERNAL_ERROR' })).toBe(1);
    expect(value('pixelrelay_upstream_submit_attempts', { outcome: 'unknown', code: 'HTTP_502' })).toBe(1);
    expect(value('pixelrelay_upstream_possible_duplicate_charges_total')).toBe(1);
    const histogram = 'pixelrelay_upstream_submit_duration_seconds';
    expect(value(`${histogram}_count`, { outcome: 'accepted' })).toBe(6);
    expect(value(`${histogram}_bucket`, { outcome: 'accepted', le: '+Inf' })).toBe(6);
    expect(value(`${histogram}_count`, { outcome: 'unknown' })).toBe(1);
    expect(value(`${histogram}_sum`, { outcome: 'accepted' })).toBeGreaterThan(0);
    // Buckets are cumulative.
    const buckets = [...samples].filter(([k]) => k.startsWith(`${histogram}_bucket{`) && k.includes('outcome="accepted"')).map(([, v]) => v);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
  });

  it('counts webhooks stored, applied, repeated and refused by reason', () => {
    expect(value('pixelrelay_webhooks_stored_total', { status: 'completed' })).toBe(4);
    expect(value('pixelrelay_webhooks_stored_total', { status: 'failed' })).toBe(1);
    expect([...samples.keys()].filter((k) => k.startsWith('pixelrelay_webhooks_for_unadopted_jobs{'))).toEqual([]);
    expect(value('pixelrelay_webhook_intake_total', { result: 'applied', code: '' })).toBe(5);
    // At least the simulator's deliberate copy; a delivery it timed out on under load is resent, and repeats too.
    const duplicates = value('pixelrelay_webhook_intake_total', { result: 'duplicate', code: '' })!;
    expect(duplicates).toBeGreaterThanOrEqual(1);
    const answered200 = value('pixelrelay_http_request_duration_seconds_count', {
      method: 'POST',
      route: '/webhooks/pixelbyte/:token/:editId',
      status_code: '200',
    });
    expect(5 + duplicates + (value('pixelrelay_webhook_intake_total', { result: 'stored', code: '' }) ?? 0)).toBe(answered200);
    expect(value('pixelrelay_webhook_intake_total', { result: 'refused', code: 'INVALID_WEBHOOK_TOKEN' })).toBe(1);
    expect(value('pixelrelay_webhook_intake_total', { result: 'refused', code: 'INVALID_SIGNATURE' })).toBe(1);
  });

  it('counts callback deliveries, their dead letters and attempts by outcome', () => {
    expect(value('pixelrelay_callback_deliveries', { status: 'delivered' })).toBe(1);
    expect(value('pixelrelay_callback_deliveries', { status: 'failed' })).toBe(1);
    expect(value('pixelrelay_callback_attempts_total', { outcome: '2xx' })).toBe(1);
    expect(value('pixelrelay_callback_attempts_total', { outcome: '4xx' })).toBe(1);
  });

  it('shows the queues, empty once the run is over', () => {
    for (const queue of ['edit-submit', 'callback-deliver']) {
      for (const state of ['waiting', 'active', 'delayed', 'prioritized', 'paused', 'failed']) {
        expect(value('pixelrelay_queue_jobs', { queue, state }), `${queue} ${state}`).toBe(0);
      }
      expect(value('pixelrelay_queue_oldest_waiting_seconds', { queue })).toBe(0);
    }
  });

  it('times HTTP requests by route pattern and status, never by URL', () => {
    const histogram = 'pixelrelay_http_request_duration_seconds';
    expect(value(`${histogram}_count`, { method: 'POST', route: '/v1/edits', status_code: '202' })).toBe(6);
    expect(value(`${histogram}_count`, { method: 'POST', route: '/v1/edits/:id/cancel', status_code: '200' })).toBe(1);
    expect(value(`${histogram}_count`, { method: 'POST', route: '/webhooks/pixelbyte/:token/:editId', status_code: '401' })).toBe(2);
    expect(value(`${histogram}_count`, { method: 'GET', route: '/v1/edits/:id', status_code: '200' })).toBeGreaterThanOrEqual(6);
    for (const id of Object.values(ids)) expect(text).not.toContain(id);
  });
});

describe('the Postgres-backed series', () => {
  it('are the same from another process of the deployment, which never saw the run', async () => {
    const other = await startTestRelay(t.config.PIXELBYTE_API_URL, { ROLE: 'api', QUEUE_PREFIX: t.config.QUEUE_PREFIX }, { share: t });
    try {
      const ours = parseExposition((await scrape(t)).text);
      const theirs = parseExposition((await scrape(other)).text);
      const fromPostgres = [...ours.keys()].filter((k) => /^pixelrelay_(edits_|estimated_|charged_|refunded_|upstream_|webhooks_|callback_)/.test(k));
      expect(fromPostgres.length).toBeGreaterThan(25);
      for (const k of fromPostgres) expect(theirs.get(k), k).toBe(ours.get(k));
      // What a process counts in memory starts from nothing in a new one.
      expect(theirs.get(key('pixelrelay_webhook_intake_total', { result: 'applied', code: '' }))).toBeUndefined();
    } finally {
      await other.stop();
    }
  });
});

describe('queue depth and waiting time', () => {
  it('show the jobs an API without workers has queued, and how long the oldest has waited', async () => {
    const api = await startTestRelay(t.config.PIXELBYTE_API_URL, { ROLE: 'api' });
    try {
      for (let i = 0; i < 2; i++) {
        const res = await api.relay.app!.inject({
          method: 'POST',
          url: '/v1/edits',
          headers: api.auth,
          payload: { input: { prompt: 'p', image_urls: [img] } },
        });
        expect(res.statusCode).toBe(202);
      }
      await new Promise((r) => setTimeout(r, 1_100));
      const samples = parseExposition((await scrape(api)).text);
      expect(samples.get(key('pixelrelay_queue_jobs', { queue: 'edit-submit', state: 'waiting' }))).toBe(2);
      expect(samples.get(key('pixelrelay_queue_oldest_waiting_seconds', { queue: 'edit-submit' }))).toBeGreaterThanOrEqual(1);
      expect(samples.get(key('pixelrelay_edits_in_progress', { model: PRO, status: 'queued' }))).toBe(2);
    } finally {
      await api.stop();
    }
  });
});

describe('METRICS_TOKEN', () => {
  it('when set, /metrics wants it as a bearer token', async () => {
    const guarded = await startTestRelay(t.config.PIXELBYTE_API_URL, { ROLE: 'api', METRICS_TOKEN });
    try {
      for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: METRICS_TOKEN }, guarded.auth]) {
        const res = await scrape(guarded, headers);
        expect(res.status, JSON.stringify(headers)).toBe(401);
        expect(JSON.parse(res.text)).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
        expect(res.text).not.toContain('pixelrelay_');
      }
      const ok = await scrape(guarded, { authorization: `Bearer ${METRICS_TOKEN}` });
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('pixelrelay_edits_accepted_total');
    } finally {
      await guarded.stop();
    }
  });

  it('when unset, /metrics is open', async () => {
    expect((await scrape(t)).status).toBe(200);
  });
});
