import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RelayWithSimulator, startRelayWithSimulator } from '../helpers/relay.js';

const body = { input: { prompt: 'Make the sky purple', image_urls: ['https://example.com/a.jpg'] } };

// Real HTTP against the listening relay: the wait holds the request's own socket.
function post(r: RelayWithSimulator, headers: Record<string, string> = {}) {
  return fetch(`${r.t.relay.url}/v1/edits`, {
    method: 'POST',
    headers: { ...r.t.auth, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

function get(r: RelayWithSimulator, id: string, headers: Record<string, string> = {}) {
  return fetch(`${r.t.relay.url}/v1/edits/${id}`, { headers: { ...r.t.auth, ...headers } });
}

describe('Prefer: wait, with a PixelByte that finishes in about a second', () => {
  let r: RelayWithSimulator;
  beforeAll(async () => {
    // Re-reads a minute apart: an answer within the test's time came from a wake-up through Redis's channel.
    r = await startRelayWithSimulator({ WATCH_REREAD_MS: '60000' }, { pendingMs: 200, processingMs: 800 });
  });
  afterAll(() => r?.stop());

  it('one POST with Prefer: wait=30 answers 201 with the completed edit', async () => {
    const started = Date.now();
    const res = await post(r, { prefer: 'wait=30' });
    expect(res.status).toBe(201);
    expect(res.headers.get('preference-applied')).toBe('wait=30');
    const edit: any = await res.json();
    expect(edit.status).toBe('completed');
    expect(edit.outputs.length).toBeGreaterThan(0);
    expect(res.headers.get('location')).toBe(`/v1/edits/${edit.id}`);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('ignores a malformed Prefer: the edit is accepted at once, as without one', async () => {
    for (const prefer of ['wait=soon', 'wait=0', 'wait=-3', '=,;', 'handling=lenient', 'wait=1=2']) {
      const res = await post(r, { prefer });
      expect(res.status, prefer).toBe(202);
      expect(res.headers.get('preference-applied'), prefer).toBeNull();
      expect(((await res.json()) as any).status, prefer).toBe('queued');
    }
  });

  it('a repeat with the Idempotency-Key waits for the same edit', async () => {
    const key = `k-${Date.now()}`;
    const first = await post(r, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    const accepted: any = await first.json();
    const again = await post(r, { 'idempotency-key': key, prefer: 'respond-async, wait=30' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('preference-applied')).toBe('wait=30');
    expect(await again.json()).toMatchObject({ id: accepted.id, status: 'completed' });
  });

  it('GET with Prefer: wait answers once the edit is terminal', async () => {
    const accepted: any = await (await post(r)).json();
    const res = await get(r, accepted.id, { prefer: 'wait' });
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('wait=60');
    expect(((await res.json()) as any).status).toBe('completed');
  });
});

describe('Prefer: wait, with a PixelByte that takes a minute', () => {
  let r: RelayWithSimulator;
  beforeAll(async () => {
    r = await startRelayWithSimulator({ WATCH_MAX_PER_CLIENT: '2', WATCH_REREAD_MS: '200' }, { pendingMs: 60_000, processingMs: 60_000 });
  });
  afterAll(() => r?.stop());

  it('answers 202 (POST) and 200 (GET) with the edit as it is at the deadline', async () => {
    const res = await post(r, { prefer: 'wait=1' });
    expect(res.status).toBe(202);
    expect(res.headers.get('preference-applied')).toBe('wait=1');
    const edit: any = await res.json();
    expect(['queued', 'submitting', 'submitted', 'processing']).toContain(edit.status);
    const started = Date.now();
    const read = await get(r, edit.id, { prefer: 'wait=1' });
    expect(read.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(read.headers.get('preference-applied')).toBe('wait=1');
  });

  it('past WATCH_MAX_PER_CLIENT concurrent waits answers 429 TOO_MANY_WATCHES with Retry-After, and stores nothing', async () => {
    const edit: any = await (await post(r)).json();
    const holding = [get(r, edit.id, { prefer: 'wait=3' }), get(r, edit.id, { prefer: 'wait=3' })];
    await new Promise((resolve) => setTimeout(resolve, 500));
    const listed = async () => ((await (await fetch(`${r.t.relay.url}/v1/edits?limit=100`, { headers: r.t.auth })).json()) as any).edits.length;
    const before = await listed();

    const refused = await get(r, edit.id, { prefer: 'wait=3' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as any).code).toBe('TOO_MANY_WATCHES');
    const refusedPost = await post(r, { prefer: 'wait=3' });
    expect(refusedPost.status).toBe(429);
    expect(await listed()).toBe(before);
    // Without a wait nothing is capped.
    expect((await get(r, edit.id)).status).toBe(200);

    for (const res of await Promise.all(holding)) expect(res.status).toBe(200);
    expect((await get(r, edit.id, { prefer: 'wait=1' })).status).toBe(200);
  });
});
