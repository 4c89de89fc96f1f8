import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect as netConnect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PixelByteClient } from '../../src/upstream/client.js';
import { failureOf } from '../helpers/upstreamFailure.js';

// The PixelByte client's connections, against a real local HTTP server: what it sends, when a connection is reused,
// and how a call that fails at each stage is classified. (The answers' classification is in test/upstream/upstreamErrors.test.ts.)
type Reply = (req: IncomingMessage, res: ServerResponse) => void;
interface Seen {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
  remotePort?: number;
  body: string;
}

let server: Server;
let port: number;
let baseUrl: string;
const replies: Reply[] = [];
const seen: Seen[] = [];
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, remotePort: req.socket.remotePort, body });
      (replies.shift() ?? ((_, r) => r.writeHead(500).end()))(req, res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  replies.length = 0;
  seen.length = 0;
});

const client = (timeoutMs = 2_000, dispatcher?: Pool) => new PixelByteClient({ baseUrl, apiKey: 'pb_test', timeoutMs, dispatcher });
const submit = (c: PixelByteClient) => c.submitJob({ model: 'm', input: { prompt: 'p' } });
const job = JSON.stringify({ jobId: 'job_1', status: 'pending' });
const ok: Reply = (_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(job);

describe('what a request carries', () => {
  it('sends the key, accept, user-agent, and content-type with a body only', async () => {
    replies.push(ok, ok);
    const c = client();
    await submit(c);
    await c.getJob('job_1').catch(() => undefined);
    const [post, get] = seen;
    expect(post).toMatchObject({ method: 'POST', url: '/v1/jobs/submit', body: JSON.stringify({ model: 'm', input: { prompt: 'p' } }) });
    expect(post!.headers).toMatchObject({
      authorization: 'Bearer pb_test',
      accept: 'application/json',
      'content-type': 'application/json',
      'user-agent': 'node',
    });
    expect(get).toMatchObject({ method: 'GET', url: '/v1/jobs/job_1' });
    expect(get!.headers).toMatchObject({ authorization: 'Bearer pb_test', accept: 'application/json', 'user-agent': 'node' });
    expect(get!.headers['content-type']).toBeUndefined();
  });

  it('keeps the path of a base URL that has one', async () => {
    replies.push(ok);
    await submit(new PixelByteClient({ baseUrl: `${baseUrl}/pixelbyte/api`, apiKey: 'pb_test', timeoutMs: 2_000 }));
    expect(seen.map((s) => s.url)).toEqual(['/pixelbyte/api/v1/jobs/submit']);
  });
});

describe('connections', () => {
  it('reuses a connection once its answer, error bodies too, was read to the end', async () => {
    const c = client();
    replies.push(
      (_, res) =>
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ success: false, error: { code: 'INVALID_INPUT', message: 'no' } })),
      ok,
    );
    expect((await failureOf(submit(c))).kind).toBe('rejected');
    await sleep(20); // undici gives a connection back to its pool an event-loop turn after its answer ended
    await submit(c);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.remotePort).toBe(seen[0]!.remotePort);
  });

  it('a kept-alive connection the server closed while idle is not used again: the next submit opens a new one', async () => {
    const c = client();
    replies.push((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(job);
      res.on('finish', () => setTimeout(() => req.socket.end(), 10));
    }, ok);
    await submit(c);
    await sleep(100);
    await submit(c);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.remotePort).not.toBe(seen[0]!.remotePort);
  });

  it('a submit on a kept-alive connection that the server closes on reading it is unknown, and never resent by the client', async () => {
    const c = client();
    replies.push(ok, (req) => req.socket.destroy());
    await submit(c);
    await sleep(20);
    const err = await failureOf(submit(c));
    expect([err.kind, err.code]).toEqual(['unknown', 'UPSTREAM_CONNECTION_LOST']);
    await sleep(200);
    expect(seen.map((s) => s.url)).toEqual(['/v1/jobs/submit', '/v1/jobs/submit']);
    expect(seen[1]!.remotePort).toBe(seen[0]!.remotePort);
  });
});

describe('the deadline covers the whole call', () => {
  it('while the connection is still opening: not_sent, and the request is never written, even when the connection opens later', async () => {
    // A connector that opens the connection only after the deadline: a slow SYN-ACK, a far-away or overloaded host.
    const pool = new Pool(baseUrl, {
      connect: (_options, callback) => {
        setTimeout(() => {
          const socket = netConnect(port, '127.0.0.1');
          socket.once('connect', () => callback(null, socket));
          socket.once('error', (err) => callback(err, null));
        }, 300);
      },
    });
    try {
      const started = Date.now();
      const err = await failureOf(submit(client(100, pool)));
      expect(Date.now() - started).toBeLessThan(290);
      expect([err.kind, err.code, err.retryable]).toEqual(['not_sent', 'UPSTREAM_UNREACHABLE', true]);
      await sleep(500); // the connection has opened by now
      expect(seen).toEqual([]);
    } finally {
      await pool.destroy();
    }
  });

  it('while a 2xx body is still arriving: unknown, and that connection is closed rather than reused', async () => {
    let closed!: Promise<void>;
    replies.push((req, res) => {
      closed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"jobId":"job_1",'); // and nothing more
    });
    const started = Date.now();
    const err = await failureOf(submit(client(200)));
    expect([err.kind, err.code]).toEqual(['unknown', 'UPSTREAM_TIMEOUT']);
    expect(Date.now() - started).toBeLessThan(1_500);
    await closed;
  });

  it('while an error body is still arriving: unknown, whatever it began like', async () => {
    replies.push((_, res) => {
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"success":false,"error":{"code":"INVALID_INPUT"');
    });
    const err = await failureOf(submit(client(200)));
    expect([err.kind, err.code, err.httpStatus]).toEqual(['unknown', 'HTTP_400', 400]);
    expect(err.message).toMatch(/its body was lost/);
  });

  it('while waiting for the headers: unknown', async () => {
    replies.push(() => {}); // never answers
    const err = await failureOf(submit(client(150)));
    expect([err.kind, err.code]).toEqual(['unknown', 'UPSTREAM_TIMEOUT']);
  });
});

describe('failures before a connection', () => {
  it('a base URL that does not parse fails every call as not_sent', async () => {
    const err = await failureOf(submit(new PixelByteClient({ baseUrl: 'not a url', apiKey: 'pb_test', timeoutMs: 2_000 })));
    expect([err.kind, err.code]).toEqual(['not_sent', 'UPSTREAM_UNREACHABLE']);
  });

  it('a connector error is not_sent', async () => {
    const pool = new Pool(baseUrl, {
      connect: (_options, callback) => setImmediate(() => callback(Object.assign(new Error('reset during TLS handshake'), { code: 'ECONNRESET' }), null)),
    });
    try {
      const err = await failureOf(submit(client(2_000, pool)));
      expect([err.kind, err.code]).toEqual(['not_sent', 'UPSTREAM_UNREACHABLE']);
      expect(seen).toEqual([]);
    } finally {
      await pool.destroy();
    }
  });
});
