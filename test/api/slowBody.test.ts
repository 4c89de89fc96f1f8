import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startRelayWithSimulator, startTestRelay, type TestRelay } from '../helpers/relay.js';

// A client that sends its request a byte at a time must not hold a socket for as long as it likes: the relay
// closes it once HTTP_REQUEST_TIMEOUT_MS has passed. Timings here are lower bounds (it was not cut off early)
// and a generous ceiling that only says "it was closed at all"; nothing asserts speed.

const REQUEST_TIMEOUT_MS = 1_000;
/** Far below what a trickle of 200,000 bytes at 10 a second would take (5.5 hours). */
const CLOSED_WITHIN_MS = 20_000;

let simUrl: string;
let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ simUrl, t, stop } = await startRelayWithSimulator({ ROLE: 'api', HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) }));
});
afterAll(() => stop?.());

async function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {}); // a reset is one way of being closed
  await once(socket, 'connect');
  return socket;
}

interface Trickled {
  closed: boolean;
  elapsedMs: number;
  bytesTrickled: number;
  answer: string;
}

/** Sends `head` at once, then one byte of `trickle` every 100 ms until the server closes the connection. */
async function trickle(head: string, byte = 'x'): Promise<Trickled> {
  const socket = await open(t.relay.url!);
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk));
  const closed = once(socket, 'close').then(() => true);
  const started = performance.now();
  socket.write(head);
  let bytesTrickled = 0;
  const timer = setInterval(() => {
    if (socket.writable) {
      socket.write(byte);
      bytesTrickled++;
    }
  }, 100);
  try {
    const gaveUp = new Promise<false>((resolve) => setTimeout(() => resolve(false), CLOSED_WITHIN_MS).unref());
    const result = await Promise.race([closed, gaveUp]);
    return { closed: result, elapsedMs: performance.now() - started, bytesTrickled, answer };
  } finally {
    clearInterval(timer);
    socket.destroy();
  }
}

const host = () => new URL(t.relay.url!).host;
const errorLinesSince = (from: number) =>
  t.logs.lines
    .slice(from)
    .map((l) => JSON.parse(l))
    .filter((l) => l.level > 40);

describe('a client trickling its request', () => {
  it.each([
    [
      'the PixelByte webhook (no credentials needed)',
      () =>
        `POST /webhooks/pixelbyte/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{`,
    ],
    [
      'POST /v1/edits',
      () =>
        `POST /v1/edits HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${t.apiKey}\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{"metadata":{"pad":"`,
    ],
  ])('a body to %s, a byte every 100 ms, is cut off after HTTP_REQUEST_TIMEOUT_MS with 408', async (_route, head) => {
    const logFrom = t.logs.lines.length;
    const before = await t.db.edit.count();
    const result = await trickle(head());
    expect(result.closed, 'the connection was closed').toBe(true);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
    expect(result.bytesTrickled).toBeGreaterThan(0);
    expect(result.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(result.answer.slice(result.answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ statusCode: 408, code: 'REQUEST_TIMEOUT' });
    expect(await t.db.edit.count()).toBe(before);
    expect(errorLinesSince(logFrom)).toEqual([]);
  });

  it('headers sent a byte every 100 ms are cut off too', async () => {
    const result = await trickle(`GET /healthz HTTP/1.1\r\nHost: ${host()}\r\nX-Padding: `);
    expect(result.closed, 'the connection was closed').toBe(true);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
    expect(result.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(result.answer).toContain('"code":"REQUEST_TIMEOUT"');
  });

  it('a request sent at once is answered as usual on the same server', async () => {
    const res = await fetch(`${t.relay.url}/healthz`);
    expect(res.status).toBe(200);
  });
});

describe('HTTP_MAX_CONNECTIONS', () => {
  let capped: TestRelay;
  beforeAll(async () => {
    capped = await startTestRelay(simUrl, { ROLE: 'api', HTTP_MAX_CONNECTIONS: '2' });
  });
  afterAll(async () => {
    await capped?.stop();
  });

  /** Whether a new connection gets an answer to GET /healthz (false: closed without one). */
  async function answered(): Promise<boolean> {
    const socket = await open(capped.relay.url!);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    const closed = once(socket, 'close');
    socket.write(`GET /healthz HTTP/1.1\r\nHost: ${new URL(capped.relay.url!).host}\r\nConnection: close\r\n\r\n`);
    await closed;
    return answer.startsWith('HTTP/1.1 200 ');
  }

  it('closes connections beyond the cap at once, and takes new ones when one goes away', async () => {
    const held = [await open(capped.relay.url!), await open(capped.relay.url!)];
    try {
      // Idle sockets, each waiting to send headers: the relay holds them (HTTP_REQUEST_TIMEOUT_MS is 30 s here).
      await eventually(async () => ((await connectionCount(capped)) === 2 ? true : undefined));
      expect(await answered()).toBe(false);
      held.pop()!.destroy();
      await eventually(async () => ((await connectionCount(capped)) === 1 ? true : undefined));
      expect(await answered()).toBe(true);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});

function connectionCount(relay: TestRelay): Promise<number> {
  return new Promise((resolve, reject) => relay.relay.app!.server.getConnections((err, count) => (err ? reject(err) : resolve(count))));
}
