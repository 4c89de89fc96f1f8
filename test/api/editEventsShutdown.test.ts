import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStream, restOfStream } from '../helpers/eventStream.js';
import { type RelayWithSimulator, startRelayWithSimulator } from '../helpers/relay.js';

// PixelByte takes a minute, so the edit is mid-way when the relay stops.
let r: RelayWithSimulator;
beforeAll(async () => {
  r = await startRelayWithSimulator({}, { pendingMs: 60_000, processingMs: 60_000 });
});
afterAll(() => r?.stop());

describe('an event stream when its process shuts down', () => {
  it('ends cleanly and at once, so that its client reconnects elsewhere, and the shutdown does not wait for it', async () => {
    const res = await fetch(`${r.t.relay.url}/v1/edits`, {
      method: 'POST',
      headers: { ...r.t.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { prompt: 'Make the sky purple', image_urls: ['https://example.com/a.jpg'] } }),
    });
    const edit = (await res.json()) as { id: string };
    const stream = await openEventStream(`${r.t.relay.url}/v1/edits/${edit.id}/events`, r.t.auth);
    expect((await stream.next())?.event).toBe('status');

    const started = Date.now();
    const [rest] = await Promise.all([restOfStream(stream, 5_000), r.t.relay.stop()]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(rest.map((e) => e.event)).not.toContain('error');
  });
});
