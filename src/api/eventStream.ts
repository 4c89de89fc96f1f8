import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { editResource } from '../engine/editResource.js';
import type { Watch } from '../engine/watch/wakeups.js';
import { AppError } from '../errors.js';

/**
 * What both event streams (GET /v1/edits/{id}/events and GET /v1/events) write on the wire. They are written by hand
 * on the hijacked response: @fastify/sse (0.6) sends a comment as its heartbeat, waits on `drain` for ever with no
 * bound on what a stalled reader makes us hold, and knows nothing of our shutdown.
 */

/**
 * One event stream on the raw response. A backlog (a resumed stream catching up) is sent as fast as the reader takes
 * it: the sender waits for `ready()` between events, so what waits in this process is one event past the socket's
 * high-water mark. A reader that takes nothing for `stallMs` (seen by `ready()`, or by the pings of a quiet stream),
 * or whose unsent output passes `limit` (an event larger than that), is dropped rather than held in this process's memory: it loses nothing, since it resumes with
 * Last-Event-ID.
 */
export class EventStream {
  closed = false;
  /** Closed by us because its reader fell behind. */
  dropped = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly limit: number,
    private readonly stallMs: number,
  ) {
    res.on('close', () => {
      this.closed = true;
    });
  }

  /** Called once when the reader goes away (or is dropped). */
  onClose(listener: () => void): void {
    this.res.on('close', listener);
  }

  send(event: string, data: unknown, id?: bigint | string): void {
    this.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /**
   * A ping is only worth sending to a reader that keeps up: one behind already has output coming. With `id`, it
   * also moves the reader's Last-Event-ID on (GET /v1/events: where the stream stands while nothing happens).
   */
  ping(id?: string): void {
    if (!this.res.writableNeedDrain) {
      this.behindSince = undefined;
      this.send('ping', {}, id);
      return;
    }
    // Quiet since, with output still unsent: a reader that stopped reading, to drop as `ready()` would.
    this.behindSince ??= Date.now();
    if (Date.now() - this.behindSince >= this.stallMs) this.drop();
  }

  private behindSince: number | undefined;

  /** Resolves once the reader has taken what it was sent (at once if it keeps up), or the stream is closed. */
  ready(): Promise<void> {
    if (this.closed || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.drop();
        done();
      }, this.stallMs);
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  private write(text: string): void {
    if (this.closed) return;
    this.res.write(text);
    if (this.res.writableLength > this.limit) this.drop();
  }

  private drop(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropped = true;
    this.res.destroy();
  }

  end(): void {
    if (!this.closed) this.res.end();
    this.closed = true;
  }
}

/**
 * Takes the response over from Fastify and serves one stream on it: 200, with the headers that keep proxies from
 * buffering it, a ping every `pingMs` (with the id `pingId()` gives, if any), and `send(stream)` writing the events.
 * However `send` returns, the ping stops, the watch is let go and the stream ends. A reader that takes nothing for
 * two ping intervals is dropped: its own watchdog would have given up by then.
 */
export async function serveEventStream(
  reply: FastifyReply,
  watch: Watch,
  limits: { bufferLimitBytes: number; pingMs: number },
  pingId: () => string | undefined,
  send: (stream: EventStream) => Promise<void>,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  });
  const stream = new EventStream(res, limits.bufferLimitBytes, 2 * limits.pingMs);
  // A reader gone while the sender waits for a change: wake it, so that it sees the stream closed and returns.
  stream.onClose(() => watch.wake());
  const ping = setInterval(() => stream.ping(pingId()), limits.pingMs);
  try {
    await send(stream);
  } finally {
    clearInterval(ping);
    watch.close();
    if (stream.dropped) reply.log.info('closed an event stream whose reader fell behind; it resumes with Last-Event-ID');
    stream.end();
  }
}

/** What a stream says when it cannot go on: our own codes as they are, anything else without its internals. */
export function streamError(err: unknown): { code: string; message: string } {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  return { code: 'DATABASE_UNAVAILABLE', message: 'The status changes could not be read; reconnect with Last-Event-ID' };
}

/** The events of a stream as the reference lists them (`x-events`): `status`, `ping` and `error`. */
export function streamEvents(ids: { status: string; ping?: string }) {
  return {
    status: {
      description: 'A status change: the edit as GET /v1/edits/{id} shows it, `status` the one it moved to',
      id: ids.status,
      data: editResource,
    },
    ping: {
      description: 'Every EVENTS_PING_MS (15 s), so that proxies and client watchdogs see the stream alive',
      ...(ids.ping ? { id: ids.ping } : {}),
      data: z.strictObject({}),
    },
    error: {
      description: 'The stream could not read the changes and ends: reconnect with Last-Event-ID',
      data: z.object({ code: z.string(), message: z.string() }),
    },
  };
}
