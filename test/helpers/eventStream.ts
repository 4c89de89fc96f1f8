import { type IncomingMessage, request } from 'node:http';
import { parseEventBlock, type ServerSentEvent } from '../../src/shared/serverSentEvents.js';

export type ServerEvent = ServerSentEvent;

export interface EventStreamClient {
  status: number;
  headers: Headers;
  /** The next event (pings included), or null once the server ended the stream. Throws if none comes in time. */
  next(timeoutMs?: number): Promise<ServerEvent | null>;
  /** Drops the connection, as a client that goes away. */
  close(): void;
}

/**
 * Opens `url` as an EventSource would, over real HTTP streaming, and parses the events as they arrive. node:http on
 * a connection of its own (fetch's pool opens a spare connection after an abort, which holds a server's close).
 */
export async function openEventStream(url: string, headers: Record<string, string>): Promise<EventStreamClient> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, resolve)
      .on('error', reject)
      .end();
  });
  const chunks: Buffer[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  res.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    wake?.();
  });
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  res.on('end', onEnd).on('close', onEnd).on('error', onEnd);
  const reader = {
    read: async (): Promise<{ done: true } | { done: false; value: Buffer }> => {
      while (chunks.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const value = chunks.shift();
      return value ? { done: false, value } : { done: true };
    },
  };
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') responseHeaders.set(name, value);
  const decoder = new TextDecoder();
  let buffer = '';
  let finished = false;

  const next = async (timeoutMs = 15_000): Promise<ServerEvent | null> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseEventBlock(block);
        if (event) return event;
        continue;
      }
      if (finished) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), left);
        }),
      ]).finally(() => clearTimeout(timer));
      if (chunk === 'timeout') throw new Error(`no event within ${timeoutMs} ms`);
      if (chunk.done) finished = true;
      else buffer += decoder.decode(chunk.value, { stream: true });
    }
  };
  return { status: res.statusCode ?? 0, headers: responseHeaders, next, close: () => res.destroy() };
}

/** The events up to the end of the stream, pings left out. */
export async function restOfStream(stream: EventStreamClient, timeoutMs = 20_000): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const event = await stream.next(Math.max(1, deadline - Date.now()));
    if (event === null) return events;
    if (event.event !== 'ping') events.push(event);
  }
}
