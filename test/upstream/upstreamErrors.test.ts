import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PixelByteClient } from '../../src/upstream/client.js';
import { classifyNetworkError } from '../../src/upstream/errors.js';
import { failureOf } from '../helpers/upstreamFailure.js';

// A real HTTP server answering each request with the next scripted reply: the client is tested over real sockets.
type Reply = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let baseUrl: string;
const replies: Reply[] = [];
const requests: { method?: string; url?: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url });
    req.resume();
    req.on('end', () => (replies.shift() ?? ((_, r) => r.writeHead(500).end()))(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const client = (url = baseUrl, timeoutMs = 2_000) => new PixelByteClient({ baseUrl: url, apiKey: 'pb_test', timeoutMs });
const submit = (c = client()) => c.submitJob({ model: 'm', input: {} });

const answer =
  (status: number, body: string, contentType = 'application/json'): Reply =>
  (_, res) =>
    res.writeHead(status, { 'content-type': contentType }).end(body);
const envelope = (status: number, code: string, details: unknown = null) =>
  answer(status, JSON.stringify({ success: false, error: { code, message: `said ${code}`, details }, requestId: 'req_1' }));
const html = (status: number) => answer(status, `<html><head><title>${status}</title></head><body><h1>${status}</h1><hr>nginx</body></html>`, 'text/html');

describe('a non-2xx answer to a submit, by who could have sent it', () => {
  it.each<[string, Reply, { kind: string; code: string; retryable: boolean }]>([
    // PixelByte's own envelope, a documented code at its documented status: a definite refusal.
    ['400 INVALID_INPUT', envelope(400, 'INVALID_INPUT'), { kind: 'rejected', code: 'INVALID_INPUT', retryable: false }],
    ['400 INVALID_WEBHOOK_URL', envelope(400, 'INVALID_WEBHOOK_URL'), { kind: 'rejected', code: 'INVALID_WEBHOOK_URL', retryable: false }],
    ['401 INVALID_API_KEY', envelope(401, 'INVALID_API_KEY'), { kind: 'rejected', code: 'INVALID_API_KEY', retryable: false }],
    ['402 INSUFFICIENT_BALANCE', envelope(402, 'INSUFFICIENT_BALANCE'), { kind: 'rejected', code: 'INSUFFICIENT_BALANCE', retryable: false }],
    ['403 IP_NOT_WHITELISTED', envelope(403, 'IP_NOT_WHITELISTED'), { kind: 'rejected', code: 'IP_NOT_WHITELISTED', retryable: false }],
    ['404 MODEL_NOT_FOUND', envelope(404, 'MODEL_NOT_FOUND'), { kind: 'rejected', code: 'MODEL_NOT_FOUND', retryable: false }],
    [
      '429 CONCURRENT_JOBS_EXCEEDED',
      envelope(429, 'CONCURRENT_JOBS_EXCEEDED', { retryAfter: 7 }),
      { kind: 'rejected', code: 'CONCURRENT_JOBS_EXCEEDED', retryable: true },
    ],
    ['500 INTERNAL_ERROR', envelope(500, 'INTERNAL_ERROR'), { kind: 'rejected', code: 'INTERNAL_ERROR', retryable: true }],
    ['503 PUBSUB_PUBLISH_FAILED', envelope(503, 'PUBSUB_PUBLISH_FAILED'), { kind: 'rejected', code: 'PUBSUB_PUBLISH_FAILED', retryable: true }],
    // A gateway's answer, or anything not provably PixelByte's: the job may exist.
    ['502 HTML page', html(502), { kind: 'unknown', code: 'HTTP_502', retryable: true }],
    ['504 HTML page', html(504), { kind: 'unknown', code: 'HTTP_504', retryable: true }],
    ['502 even in PixelByte’s envelope', envelope(502, 'INTERNAL_ERROR'), { kind: 'unknown', code: 'INTERNAL_ERROR', retryable: true }],
    ['504 even in PixelByte’s envelope', envelope(504, 'PUBSUB_PUBLISH_FAILED'), { kind: 'unknown', code: 'PUBSUB_PUBLISH_FAILED', retryable: true }],
    ['503 HTML page', html(503), { kind: 'unknown', code: 'HTTP_503', retryable: true }],
    ['500 empty body', answer(500, ''), { kind: 'unknown', code: 'HTTP_500', retryable: true }],
    [
      '500 plain text',
      answer(500, 'upstream connect error or disconnect/reset before headers', 'text/plain'),
      { kind: 'unknown', code: 'HTTP_500', retryable: true },
    ],
    ['429 HTML page (a CDN rate limit)', html(429), { kind: 'unknown', code: 'HTTP_429', retryable: true }],
    ['500 envelope with an undocumented code', envelope(500, 'UPSTREAM_OVERLOADED'), { kind: 'unknown', code: 'UPSTREAM_OVERLOADED', retryable: true }],
    ['404 envelope with an undocumented code', envelope(404, 'NOT_FOUND'), { kind: 'unknown', code: 'NOT_FOUND', retryable: true }],
    ['400 INTERNAL_ERROR (documented code, other status)', envelope(400, 'INTERNAL_ERROR'), { kind: 'unknown', code: 'INTERNAL_ERROR', retryable: true }],
    [
      '503 INSUFFICIENT_BALANCE (documented code, other status)',
      envelope(503, 'INSUFFICIENT_BALANCE'),
      { kind: 'unknown', code: 'INSUFFICIENT_BALANCE', retryable: true },
    ],
    [
      '400 error object without success:false',
      answer(400, JSON.stringify({ error: { code: 'INVALID_INPUT', message: 'x' } })),
      { kind: 'unknown', code: 'HTTP_400', retryable: true },
    ],
    ['400 JSON that is not an envelope', answer(400, JSON.stringify({ message: 'Bad Request' })), { kind: 'unknown', code: 'HTTP_400', retryable: true }],
  ])('%s', async (name, reply, expected) => {
    replies.push(reply);
    const err = await failureOf(submit());
    expect({ kind: err.kind, code: err.code, retryable: err.retryable }).toEqual(expected);
    expect(err.httpStatus).toBe(Number(name.slice(0, 3)));
  });

  it('keeps PixelByte’s message for a refusal and says why an unknown answer is unknown', async () => {
    replies.push(envelope(402, 'INSUFFICIENT_BALANCE'), html(504));
    expect((await failureOf(submit())).message).toBe('said INSUFFICIENT_BALANCE');
    expect((await failureOf(submit())).message).toMatch(/HTTP 504, a gateway error: PixelByte may have acted on it/);
  });

  it('takes retryAfter from the body of a 429, else 30 s', async () => {
    replies.push(envelope(429, 'CONCURRENT_JOBS_EXCEEDED', { retryAfter: 7 }), envelope(429, 'CONCURRENT_JOBS_EXCEEDED'));
    expect((await failureOf(submit())).retryAfterSeconds).toBe(7);
    expect((await failureOf(submit())).retryAfterSeconds).toBe(30);
  });

  it('an error status whose body is lost mid-way is unknown, even when it began like a refusal', async () => {
    replies.push((_, res) => {
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"success":false,"error":{"code":"INVALID_INPUT"');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const err = await failureOf(submit());
    expect([err.kind, err.code, err.httpStatus]).toEqual(['unknown', 'HTTP_400', 400]);
    expect(err.message).toMatch(/its body was lost/);
  });
});

describe('answers that are not HTTP errors', () => {
  it('a 2xx that is not a job is unknown', async () => {
    replies.push(answer(200, '<html>ok</html>', 'text/html'));
    const err = await failureOf(submit());
    expect([err.kind, err.code]).toEqual(['unknown', 'UPSTREAM_BAD_RESPONSE']);
  });

  it('a connection closed after the request left is unknown', async () => {
    replies.push((req) => req.socket.destroy());
    const err = await failureOf(submit());
    expect([err.kind, err.code]).toEqual(['unknown', 'UPSTREAM_CONNECTION_LOST']);
  });

  it('no answer in time is unknown', async () => {
    replies.push(() => {}); // never answers; the server's closeAllConnections ends it
    const err = await failureOf(submit(client(baseUrl, 150)));
    expect([err.kind, err.code]).toEqual(['unknown', 'UPSTREAM_TIMEOUT']);
  });

  it('a connection that never opened is not_sent', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failureOf(submit(client(`http://127.0.0.1:${port}`)));
    expect([err.kind, err.code, err.retryable]).toEqual(['not_sent', 'UPSTREAM_UNREACHABLE', true]);
  });
});

describe('listJobs', () => {
  it('asks GET /v1/jobs with its query and reads flat and wrapped pages', async () => {
    const page = {
      jobs: [{ jobId: 'job_1', status: 'pending', progress: 0, model: 'm', createdAt: '2026-01-01T00:00:00.000Z', completedAt: null }],
      nextCursor: 'c2',
      hasMore: true,
    };
    replies.push(
      answer(200, JSON.stringify(page)),
      answer(200, JSON.stringify({ success: true, data: { ...page, nextCursor: null, hasMore: false }, requestId: 'r' })),
    );
    requests.length = 0;
    expect(await client().listJobs({ modelId: 'a/b c', limit: 100 })).toEqual({
      jobs: [{ jobId: 'job_1', status: 'pending', model: 'm', createdAt: '2026-01-01T00:00:00.000Z', completedAt: null }],
      nextCursor: 'c2',
      hasMore: true,
    });
    expect((await client().listJobs({ cursor: 'c2' })).hasMore).toBe(false);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /v1/jobs?modelId=a%2Fb+c&limit=100', 'GET /v1/jobs?cursor=c2']);
  });
});

describe('classifyNetworkError: undici’s errors, by how far the request got', () => {
  const error = (code: string, name = 'Error') => Object.assign(new Error(code), { code, name });
  const kindOf = (err: unknown, sent?: boolean) => {
    const e = classifyNetworkError(err, 'POST /v1/jobs/submit', sent === undefined ? {} : { sent });
    return [e.kind, e.code];
  };

  it.each([
    ['ECONNREFUSED', error('ECONNREFUSED')],
    ['UND_ERR_CONNECT_TIMEOUT', error('UND_ERR_CONNECT_TIMEOUT', 'ConnectTimeoutError')],
    ['our deadline', Object.assign(new Error('late'), { name: 'TimeoutError' })],
    ['a reset during the TLS handshake', error('ECONNRESET')],
  ])('before the request was handed to a connection, %s is not_sent', (_, err) => {
    expect(kindOf(err, false)).toEqual(['not_sent', 'UPSTREAM_UNREACHABLE']);
  });

  it.each([
    ['UND_ERR_SOCKET (a kept-alive connection closed under it)', error('UND_ERR_SOCKET', 'SocketError'), 'UPSTREAM_CONNECTION_LOST'],
    ['ECONNRESET', error('ECONNRESET'), 'UPSTREAM_CONNECTION_LOST'],
    ['EPIPE', error('EPIPE'), 'UPSTREAM_CONNECTION_LOST'],
    ['UND_ERR_HEADERS_TIMEOUT', error('UND_ERR_HEADERS_TIMEOUT', 'HeadersTimeoutError'), 'UPSTREAM_TIMEOUT'],
    ['UND_ERR_BODY_TIMEOUT', error('UND_ERR_BODY_TIMEOUT', 'BodyTimeoutError'), 'UPSTREAM_TIMEOUT'],
    ['our deadline', Object.assign(new Error('late'), { name: 'TimeoutError' }), 'UPSTREAM_TIMEOUT'],
    ['even a code that usually means not sent', error('ECONNREFUSED'), 'UPSTREAM_CONNECTION_LOST'],
  ])('once it was handed to a connection, %s is unknown', (_, err, code) => {
    expect(kindOf(err, true)).toEqual(['unknown', code]);
  });

  it('without knowing how far it got, the code decides, and only connection codes are not_sent', () => {
    expect(kindOf(error('UND_ERR_CONNECT_TIMEOUT', 'ConnectTimeoutError'))).toEqual(['not_sent', 'UPSTREAM_UNREACHABLE']);
    expect(kindOf(new TypeError('fetch failed', { cause: error('ENOTFOUND') }))).toEqual(['not_sent', 'UPSTREAM_UNREACHABLE']);
    expect(kindOf(error('UND_ERR_HEADERS_TIMEOUT', 'HeadersTimeoutError'))).toEqual(['unknown', 'UPSTREAM_TIMEOUT']);
    expect(kindOf(error('UND_ERR_SOCKET', 'SocketError'))).toEqual(['unknown', 'UPSTREAM_CONNECTION_LOST']);
    expect(kindOf(new Error('something else'))).toEqual(['unknown', 'UPSTREAM_CONNECTION_LOST']);
  });
});
