import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { webhookToken, webhookUrlKey } from '../../src/upstream/webhookUrl.js';
import { eventually, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';
import { completedPayload, signedWebhook, webhookPath } from '../helpers/webhooks.js';

const PIXELBYTE_KEY = 'pb_live_TOPSECRET_upstream_key_0001';
const WEBHOOK_SECRET = 'whsec_TOPSECRET_webhook_secret_0002';
const WEBHOOK_URL_SECRET = 'TOPSECRET_webhook_url_secret_0003_of_32_chars';

let sim: Simulator;
let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ sim, t, stop } = await startRelayWithSimulator(
    { PIXELBYTE_API_KEY: PIXELBYTE_KEY, PIXELBYTE_WEBHOOK_SECRET: WEBHOOK_SECRET, WEBHOOK_URL_SECRET, LOG_LEVEL: 'trace' },
    { apiKeys: [PIXELBYTE_KEY], webhookSecret: WEBHOOK_SECRET, pendingMs: 50, processingMs: 100 },
  ));
});
afterAll(() => stop?.());

describe('logs', () => {
  it('never contain the PixelByte key, the webhook secret, bearer tokens or Authorization headers', async () => {
    const app = t.relay.app!;
    // A normal edit, a retried upstream error, a rejected token, a bad and a good webhook: every path that logs.
    sim.nextSubmit({ kind: 'error', status: 500, code: 'INTERNAL_ERROR' });
    const id = (
      await app.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { input: { prompt: 'p', image_urls: ['https://e.com/a.jpg'] } } })
    ).json().id;
    await app.inject({ method: 'GET', url: '/v1/edits', headers: { authorization: 'Bearer wrong-token-that-is-long-enough' } });
    sim.configure({ webhook: 'drop' });
    const jobId = await eventually(async () => (await t.db.edit.findUnique({ where: { id } }))?.upstreamJobId ?? undefined, 10_000, 'the submit');
    await eventually(() => (sim.jobs.get(jobId)?.status === 'completed' ? true : undefined), 5_000, 'the job');
    const bad = signedWebhook(completedPayload(jobId), { secret: 'whsec_wrong' });
    await app.inject({ method: 'POST', url: webhookPath(t.config, id), headers: bad.headers, body: bad.body });
    const good = signedWebhook(completedPayload(jobId), { secret: WEBHOOK_SECRET });
    // A wrong and a missing token, then the right one: the token in the URL is a credential too.
    await app.inject({ method: 'POST', url: webhookPath(t.config, id, 'A'.repeat(43)), headers: good.headers, body: good.body });
    await app.inject({ method: 'POST', url: webhookPath(t.config, id, null), headers: good.headers, body: good.body });
    expect((await app.inject({ method: 'POST', url: webhookPath(t.config, id), headers: good.headers, body: good.body })).statusCode).toBe(200);
    const token = webhookToken(webhookUrlKey(t.config), id);
    // The relay logged plenty (trace level)…
    expect(t.logs.lines.length).toBeGreaterThan(10);
    // …and none of it is a secret.
    const logs = t.logs.text();
    expect(logs).toContain(`/webhooks/pixelbyte/[redacted]/${id}`);
    for (const secret of [
      PIXELBYTE_KEY,
      WEBHOOK_SECRET,
      WEBHOOK_URL_SECRET,
      t.apiKey,
      'wrong-token-that-is-long-enough',
      good.headers['x-pixelbyte-signature'],
      token,
    ]) {
      expect(logs).not.toContain(secret);
    }
    expect(logs).not.toMatch(/bearer\s/i);
  });
});
