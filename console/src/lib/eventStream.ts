import { EventParser, type ServerEvent } from './eventParser.js';
import { loadSession, signOut } from './session.js';

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
      if (res.status === 401) {
        // Reconnecting would only be refused again.
        signOut('This key is no longer accepted: sign in again');
        return;
      }
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
