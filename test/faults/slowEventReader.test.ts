import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildRelay, startChildRelay } from '../helpers/childRelay.js';
import { openEventStream } from '../helpers/eventStream.js';
import { eventually, freePort, type RelayWithSimulator, sameDeploymentEnv, startRelayWithSimulator } from '../helpers/relay.js';

// The API under test is a process of its own, so its memory is its own to measure; this test's relay, API only (no
// workers: the edits stay queued), holds the database and makes the edits.
const READERS = 30;
const EDITS = 600;
let r: RelayWithSimulator;
let api: ChildRelay;
let apiUrl: string;

beforeAll(async () => {
  r = await startRelayWithSimulator({ ROLE: 'api' });
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  api = await startChildRelay(
    sameDeploymentEnv(r.t, { ROLE: 'api', HOST: '127.0.0.1', PORT: String(port), EVENTS_PING_MS: '500', WATCH_MAX_PER_CLIENT: String(READERS) }),
  );
}, 60_000);

afterAll(async () => {
  api?.kill('SIGTERM');
  await api?.exited;
  await r?.stop();
});

const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** A raw TCP client that asks for the client's whole history and never reads a byte of the answer. */
function stalledReader(): Promise<Socket> {
  const url = new URL(apiUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.pause();
      socket.write(
        `GET /v1/events HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: ${r.t.auth.authorization}\r\naccept: text/event-stream\r\nlast-event-id: 0-0\r\n\r\n`,
      );
      resolve(socket);
    });
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

describe('GET /v1/events with readers that stop reading', () => {
  it('holds at most a socket’s worth of each, closes each stream once its reader has taken nothing for two pings, and the process’s memory stays bounded', async () => {
    // About 13 KB an event (12 KB of metadata), 8 MB of history for each reader: more than the kernel's socket buffers
    // take (4 MB sent, 128 KB received), so that the rest would be held in this process were it to buffer, 100 MB.
    const metadata = { note: 'x'.repeat(12_000) };
    for (let i = 0; i < EDITS; i += 30) {
      await Promise.all(
        Array.from({ length: 30 }, async () => {
          const res = await fetch(`${r.t.relay.url}/v1/edits`, {
            method: 'POST',
            headers: { ...r.t.auth, 'content-type': 'application/json' },
            body: JSON.stringify({ input: { prompt: 'Make the sky purple', image_urls: ['https://example.com/a.jpg'] }, metadata }),
          });
          expect(res.status).toBe(202);
        }),
      );
    }
    // As many readers that do read it all, at once: the process's memory grows to what serving them takes, so that
    // what is measured next is what stalled readers cost beyond that.
    await Promise.all(
      Array.from({ length: READERS }, async () => {
        const reader = await openEventStream(`${apiUrl}/v1/events`, { ...r.t.auth, 'last-event-id': '0-0' });
        let seen = 0;
        while (seen < EDITS) if ((await reader.next())?.event === 'status') seen++;
        reader.close();
      }),
    );
    const before = rssBytes(api.process.pid!);

    const readers = await Promise.all(Array.from({ length: READERS }, stalledReader));
    const closed = readers.map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
    // Each one is dropped by the server: the log says so, once per reader, and every watch slot is free again.
    await eventually(() => (api.output().split('reader fell behind').length - 1 >= READERS ? true : undefined), 20_000, 'every stalled stream dropped');
    const after = rssBytes(api.process.pid!);
    for (const socket of readers) socket.destroy();
    await Promise.all(closed);
    expect(after - before).toBeLessThan(60 * 1024 * 1024);

    const again = await Promise.all(Array.from({ length: READERS }, () => openEventStream(`${apiUrl}/v1/events`, r.t.auth)));
    expect(again.map((s) => s.status)).toEqual(Array(READERS).fill(200));
    for (const s of again) s.close();
  }, 60_000);
});
