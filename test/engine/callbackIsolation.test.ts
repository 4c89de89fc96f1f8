import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackReceiver } from '../helpers/callbackReceiver.js';
import { createClient, TEST_ADMIN_TOKEN, type TestClient } from '../helpers/clients.js';
import { eventually, startRelayWithSimulator, startTestRelay, type TestRelay } from '../helpers/relay.js';

// One client's receiver that accepts connections and never answers must not hold up another client's callbacks.
// CALLBACK_TIMEOUT_MS is the default (15 s): long enough that an attempt stuck behind a hanging one shows.
const PER_CLIENT = 3;
const ENV = {
  ALLOW_HTTP_CALLBACKS: 'true',
  CALLBACK_ALLOW_PRIVATE: 'true',
  CALLBACK_RETRY_SCALE: '0.00001',
  CALLBACK_TIMEOUT_MS: '15000',
  CALLBACK_CONCURRENCY_PER_CLIENT: String(PER_CLIENT),
  ADMIN_TOKEN: TEST_ADMIN_TOKEN,
};
const HANGING_EDITS = 40;
const HEALTHY_EDITS = 5;

let hanging: CallbackReceiver;
let healthy: CallbackReceiver;
let t: TestRelay;
let secondWorker: TestRelay;
let stop: () => Promise<void>;
let clientA: TestClient;
let clientB: TestClient;

beforeAll(async () => {
  [hanging, healthy] = await Promise.all([CallbackReceiver.start(), CallbackReceiver.start()]);
  hanging.script('/a', 'hang');
  let simUrl: string;
  ({ t, simUrl, stop } = await startRelayWithSimulator(ENV, { pendingMs: 50, processingMs: 100 }));
  // A second worker process of the same deployment: the limit is one for all of them.
  secondWorker = await startTestRelay(simUrl, { ...ENV, ROLE: 'worker', PUBLIC_BASE_URL: t.config.PUBLIC_BASE_URL }, { share: t });
  clientA = await createClient(t, { name: 'client with a hanging receiver' });
  clientB = await createClient(t, { name: 'client with a healthy receiver' });
});
afterAll(async () => {
  // The held requests first: the relay's stop waits for the attempts in flight.
  await hanging?.close();
  await secondWorker?.stop();
  await stop?.();
  await healthy?.close();
});

const input = { prompt: 'isolation', image_urls: ['https://example.com/a.jpg'] };
const postAs = async (client: TestClient, callbackUrl: string) => {
  const res = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: client.auth, payload: { input, callbackUrl } });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
};
const getAs = async (client: TestClient, id: string) => (await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: client.auth })).json();
const deliveryOf = (editId: string) => t.db.callbackDelivery.findFirstOrThrow({ where: { editId } });

describe('a client whose callback receiver never answers', () => {
  it("does not delay another client's callbacks, and its own are postponed without losing an attempt", async () => {
    const stuck = await Promise.all(Array.from({ length: HANGING_EDITS }, () => postAs(clientA, `${hanging.url}/a`)));
    await eventually(
      async () => ((await t.db.edit.count({ where: { id: { in: stuck }, status: 'completed' } })) === HANGING_EDITS ? true : undefined),
      20_000,
      "client A's edits to complete",
    );
    await eventually(() => (hanging.holding > 0 ? true : undefined), 10_000, "client A's receiver to hold a callback");

    const fine = await Promise.all(Array.from({ length: HEALTHY_EDITS }, () => postAs(clientB, `${healthy.url}/b`)));
    await eventually(() => (healthy.callsTo('/b').length >= HEALTHY_EDITS ? true : undefined), 40_000, "client B's callbacks");
    for (const id of fine) {
      const edit = await getAs(clientB, id);
      const call = healthy.callsTo('/b').find((c) => JSON.parse(c.body).data.id === id)!;
      // Generous: without isolation this was the 15 s of an attempt stuck on client A's receiver.
      expect(call.at - Date.parse(edit.completedAt)).toBeLessThan(5_000);
    }
    // Every process's attempts to client A count against one limit.
    expect(hanging.holding).toBeGreaterThan(0);
    expect(hanging.holding).toBeLessThanOrEqual(PER_CLIENT);

    // Client A's receiver recovers: each of its callbacks is delivered, and a delivery postponed for want of a slot
    // spent none of its attempts (every stored attempt is a request the receiver saw).
    hanging.script('/a', 200);
    hanging.answerHeld(200);
    await eventually(
      async () => ((await t.db.callbackDelivery.count({ where: { editId: { in: stuck }, status: 'delivered' } })) === HANGING_EDITS ? true : undefined),
      30_000,
      "client A's callbacks to be delivered",
    );
    const requests = hanging.callsTo('/a');
    for (const id of stuck) {
      const delivery = await deliveryOf(id);
      const attempts = await t.db.callbackAttempt.count({ where: { deliveryId: delivery.id } });
      expect(attempts).toBe(delivery.attempts);
      expect(requests.filter((r) => r.headers['webhook-id'] === delivery.id)).toHaveLength(attempts);
    }
  }, 90_000);
});
