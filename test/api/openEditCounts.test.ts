import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, createClient, TEST_ADMIN_TOKEN, type TestClient } from '../helpers/clients.js';
import { eventually, type RelayWithSimulator, startRelayWithSimulator } from '../helpers/relay.js';

const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';
const input = { prompt: 'count me', image_urls: ['https://example.com/a.png'] };

// Two deployments that hold edits where the counts can see them: one without workers (its edits stay queued), one
// whose PixelByte keeps every job pending for a minute (its edits stay submitted, in flight).
let apiOnly: RelayWithSimulator;
let slow: RelayWithSimulator;

beforeAll(async () => {
  apiOnly = await startRelayWithSimulator({ ADMIN_TOKEN: TEST_ADMIN_TOKEN, ROLE: 'api' });
  slow = await startRelayWithSimulator({ ADMIN_TOKEN: TEST_ADMIN_TOKEN }, { pendingMs: 60_000 });
});
afterAll(async () => {
  await apiOnly?.stop();
  await slow?.stop();
});

async function makeEdits(deployment: RelayWithSimulator, who: TestClient, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await deployment.t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: who.auth, payload: { model: PRO, input } });
    expect(res.statusCode, res.body).toBe(202);
    ids.push(res.json().id);
  }
  return ids;
}

const usageOf = async (deployment: RelayWithSimulator, who: TestClient) =>
  (await deployment.t.relay.app!.inject({ method: 'GET', url: '/v1/usage', headers: who.auth })).json().queue;
const adminOpenOf = async (deployment: RelayWithSimulator, who: TestClient) =>
  (await deployment.t.relay.app!.inject({ method: 'GET', url: `/admin/clients/${who.id}`, headers: adminHeaders })).json().queue;

describe('queued and in-flight counts (GET /v1/usage `queue`, GET /admin/clients/{id} `queue`)', () => {
  it('count a client’s queued edits, and only its own', async () => {
    const alice = await createClient(apiOnly.t, { name: 'alice' });
    const bob = await createClient(apiOnly.t, { name: 'bob' });
    expect(await usageOf(apiOnly, alice)).toEqual({ queued: 0, inFlight: 0 });
    await makeEdits(apiOnly, alice, 3);
    await makeEdits(apiOnly, bob, 1);
    expect(await usageOf(apiOnly, alice)).toEqual({ queued: 3, inFlight: 0 });
    expect(await adminOpenOf(apiOnly, alice)).toEqual({ queued: 3, inFlight: 0 });
    expect(await usageOf(apiOnly, bob)).toEqual({ queued: 1, inFlight: 0 });
  });

  it('count edits PixelByte holds as in flight, and a cancelled one as neither', async () => {
    const carol = await createClient(slow.t, { name: 'carol' });
    const [first, second] = await makeEdits(slow, carol, 2);
    const open = await eventually(async () => {
      const counts = await usageOf(slow, carol);
      return counts.inFlight === 2 ? counts : undefined;
    }, 15_000);
    expect(open).toEqual({ queued: 0, inFlight: 2 });
    const cancel = await slow.t.relay.app!.inject({ method: 'POST', url: `/v1/edits/${first}/cancel`, headers: carol.auth });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(await adminOpenOf(slow, carol)).toEqual({ queued: 0, inFlight: 1 });
    expect(second).toBeDefined();
  });
});
