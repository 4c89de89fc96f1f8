import { parseEventBlock, type ServerSentEvent } from '../shared/serverSentEvents.js';
import type { Credentials, PixelRelayApi } from './pixelrelayApi.js';
import { type EditView, TERMINAL, type WaitOptions, waitForEdit, waitProgress } from './pixelrelayWait.js';

/**
 * The server pings every 15 s (EVENTS_PING_MS); a stream silent for this long has died somewhere on the way, and
 * polling takes over.
 */
const SILENT_STREAM_MS = 45_000;
/** A stream that ends before the edit does (its server shut down) is reopened where it stopped, this often at most. */
const MAX_RECONNECTS = 3;

/** Why the stream could not be followed: the wait goes on by polling. */
class StreamFailed extends Error {}

/**
 * Follows the edit on its event stream (GET /v1/edits/{id}/events) until it is completed, failed or cancelled, with
 * the same progress as waitForEdit: a live line on a terminal, a plain line per status otherwise. A stream that
 * cannot be opened, answers an error event, or goes silent hands the rest of the wait to polling; one that ends
 * early is reopened with Last-Event-ID. Null when `timeoutMs` passes first.
 */
export async function followEdit(api: PixelRelayApi, credentials: Credentials, id: string, options: WaitOptions): Promise<EditView | null> {
  const started = options.startedAt ?? Date.now();
  const deadline = started + options.timeoutMs;
  const progress = waitProgress(id, options.progress, started);
  const clock = progress.live ? setInterval(() => progress.tick(), 100) : undefined;
  let lastEventId: string | undefined;
  try {
    for (let attempt = 0; attempt <= MAX_RECONNECTS; attempt++) {
      const ended = await followOnce(api, credentials, id, lastEventId, deadline, (event) => {
        lastEventId = event.id ?? lastEventId;
        if (event.event === 'status') progress.draw((JSON.parse(event.data) as EditView).status);
      });
      if (ended.kind === 'terminal' || ended.kind === 'timeout') return ended.edit;
      if (ended.kind === 'done') return await api.request<EditView>('GET', `/v1/edits/${encodeURIComponent(id)}`, credentials);
    }
    throw new StreamFailed('the stream kept ending');
  } catch (err) {
    if (!(err instanceof StreamFailed)) throw err;
  } finally {
    if (clock) clearInterval(clock);
    progress.done();
  }
  // Polling draws its own line from here, its clock counting from the same start.
  return waitForEdit(api, credentials, id, { ...options, startedAt: started });
}

type Ended = { kind: 'terminal'; edit: EditView } | { kind: 'timeout'; edit: null } | { kind: 'done' } | { kind: 'closed' };

/** One connection to the stream, read to its end (or the edit's). */
async function followOnce(
  api: PixelRelayApi,
  credentials: Credentials,
  id: string,
  lastEventId: string | undefined,
  deadline: number,
  onEvent: (event: ServerSentEvent) => void,
): Promise<Ended> {
  const abort = new AbortController();
  let timedOut = false;
  let silent = false;
  const timeout = setTimeout(
    () => {
      timedOut = true;
      abort.abort();
    },
    Math.max(0, deadline - Date.now()),
  );
  let watchdog: NodeJS.Timeout | undefined;
  const heard = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      silent = true;
      abort.abort();
    }, SILENT_STREAM_MS);
  };
  try {
    heard();
    const headers: Record<string, string> = lastEventId ? { 'last-event-id': lastEventId } : {};
    let res: Response;
    try {
      res = await api.openStream(`/v1/edits/${encodeURIComponent(id)}/events`, credentials, headers, abort.signal);
    } catch (err) {
      if (timedOut) return { kind: 'timeout', edit: null };
      throw new StreamFailed(err instanceof Error ? err.message : String(err));
    }
    // Resumed after the terminal event: nothing more will come.
    if (res.status === 204) return { kind: 'done' };
    // Another client's or an unknown edit is the API's answer to give, as GET gives it.
    if (res.status === 404) {
      await res.body?.cancel();
      await api.request('GET', `/v1/edits/${encodeURIComponent(id)}`, credentials);
    }
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      throw new StreamFailed(`the event stream answered ${res.status}`);
    }
    try {
      for await (const event of events(res.body)) {
        heard();
        if (event.event === 'error') throw new StreamFailed(`the event stream failed: ${event.data}`);
        onEvent(event);
        if (event.event !== 'status') continue;
        const edit = JSON.parse(event.data) as EditView;
        if (TERMINAL.has(edit.status)) return { kind: 'terminal', edit };
      }
    } catch (err) {
      if (err instanceof StreamFailed) throw err;
      if (timedOut) return { kind: 'timeout', edit: null };
      if (silent) throw new StreamFailed('the event stream went silent');
      throw new StreamFailed(err instanceof Error ? err.message : String(err));
    }
    if (timedOut) return { kind: 'timeout', edit: null };
    return { kind: 'closed' };
  } finally {
    clearTimeout(timeout);
    clearTimeout(watchdog);
    abort.abort();
  }
}

/** The events of a text/event-stream body, as an EventSource parses them (comments and empty data left out). */
async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseEventBlock(block);
      if (event) yield event;
    }
  }
}
