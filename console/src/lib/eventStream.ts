import { loadSession } from './session.js';

export interface ServerEvent {
  event: string;
  data: string;
  id?: string;
}

/** Splits a server-sent-events body into events as its chunks arrive (the WHATWG parsing rules, minus retry:). */
export class EventParser {
  private buffer = '';
  private event = { event: 'message', data: [] as string[], id: undefined as string | undefined };

  push(chunk: string, emit: (event: ServerEvent) => void): void {
    this.buffer += chunk;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (this.event.data.length > 0) emit({ event: this.event.event, data: this.event.data.join('\n'), id: this.event.id });
        this.event = { event: 'message', data: [], id: undefined };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') this.event.event = value;
      else if (field === 'data') this.event.data.push(value);
      else if (field === 'id') this.event.id = value;
    }
  }
}

const RECONNECT_MS = 1_000;

/**
 * Follows an event stream of the API with the session's key. EventSource cannot send an Authorization header
 * (and a key in the URL would end up in logs), so this reads the stream with fetch and parses it here. A stream
 * that ends or fails is reopened from the last event's id, so nothing is missed. Returns the function that stops it.
 */
export function followEvents(path: string, onEvent: (event: ServerEvent) => void, onState?: (live: boolean) => void): () => void {
  const abort = new AbortController();
  let lastEventId: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const open = async () => {
    const session = loadSession();
    if (!session) return;
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${session.token}`, accept: 'text/event-stream' };
      if (lastEventId) headers['last-event-id'] = lastEventId;
      const res = await fetch(path, { headers, signal: abort.signal, cache: 'no-store' });
      if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
      onState?.(true);
      const parser = new EventParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value, (event) => {
          if (event.id) lastEventId = event.id;
          onEvent(event);
        });
      }
    } catch {
      // Reconnected below, unless stopped.
    }
    if (abort.signal.aborted) return;
    onState?.(false);
    timer = setTimeout(open, RECONNECT_MS);
  };
  void open();
  return () => {
    abort.abort();
    if (timer) clearTimeout(timer);
  };
}
