import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EditResource } from '../../../engine/editResource.js';
import type { EditService, StatusChange } from '../../../engine/edits.js';
import { editIdParams } from '../../../engine/schemas/edits.js';
import type { EditWakeups, Watch } from '../../../engine/watch/wakeups.js';
import { errorResponses } from '../../../errors.js';
import { isTerminal } from '../../../store/edits/status.js';
import { type EventStream, serveEventStream, streamError, streamEvents } from '../../eventStream.js';

export interface EditEventRoutesOptions {
  service: EditService;
  watch: EditWakeups;
  /** EVENTS_PING_MS. */
  pingMs: number;
  /** EVENTS_BUFFER_LIMIT_BYTES. */
  bufferLimitBytes: number;
}

// A resumed stream names the last event it saw; anything that is not one of our ids starts it afresh.
const eventsHeaders = z.object({
  'last-event-id': z.string().optional().describe('The `id:` of the last event received: the stream resumes after it, with no gap and no repeat'),
});

const STREAM_DESCRIPTION = [
  'Server-sent events. First `event: status` with the edit as it is now (not sent when resuming with `Last-Event-ID`), then one `event: status` per status change, in order, each with `id:` the change’s sequence number (global, only growing) and `data:` the edit as GET /v1/edits/{id} shows it, with `status` the one it moved to.',
  'The stream closes after the terminal status. `event: ping` (`data: {}`) comes every EVENTS_PING_MS (15 s). `event: error` (`data: {"code","message"}`) ends a stream that could not read the edit; reconnect with `Last-Event-ID`.',
  'A stream also ends when the server shuts down or its reader falls too far behind: reconnect with `Last-Event-ID`.',
].join(' ');

/** Last-Event-ID as one of our sequence numbers, or undefined for none or one this server never sent. */
function lastEventIdOf(header: string | undefined): bigint | undefined {
  return header !== undefined && /^\d{1,19}$/.test(header.trim()) ? BigInt(header.trim()) : undefined;
}

/** GET /v1/edits/{id}/events. Registered inside the /v1 scope, behind bearer auth. */
export const editEventRoutes: FastifyPluginAsyncZod<EditEventRoutesOptions> = async (app, { service, watch: wakeups, pingMs, bufferLimitBytes }) => {
  app.get(
    '/edits/:id/events',
    {
      schema: {
        operationId: 'streamEditEvents',
        summary: 'Follow an edit’s status changes as server-sent events',
        description: STREAM_DESCRIPTION,
        tags: ['edits'],
        'x-error-codes': ['EDIT_NOT_FOUND', 'TOO_MANY_WATCHES', 'DATABASE_UNAVAILABLE'],
        'x-events': streamEvents({ status: 'The change’s sequence number: only grows' }),
        params: editIdParams,
        querystring: z.strictObject({}),
        headers: eventsHeaders,
        response: {
          200: {
            description: 'The event stream (`Cache-Control: no-cache, no-transform`, `X-Accel-Buffering: no`)',
            content: { 'text/event-stream': { schema: z.string().describe(STREAM_DESCRIPTION) } },
          },
          204: {
            description: 'Resumed after the terminal event: nothing more will come (an EventSource stops reconnecting)',
            content: { 'text/event-stream': { schema: z.string().max(0) } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const after = lastEventIdOf(request.headers['last-event-id']);
      // Listening before the first read, so no change between that read and the first wait goes unheard.
      const watch = wakeups.watch(request.clientId, id);
      let state: Awaited<ReturnType<EditService['watchState']>>;
      try {
        state = await service.watchState(id, request.clientId);
      } catch (err) {
        watch.close();
        throw err;
      }
      if (after !== undefined && isTerminal(state.edit.status) && !state.changes.some((c) => c.id > after)) {
        watch.close();
        return reply.status(204).send();
      }

      // Written by hand (eventStream.ts says why not @fastify/sse).
      await serveEventStream(
        reply,
        watch,
        { bufferLimitBytes, pingMs },
        () => undefined,
        (stream) => follow(stream, watch, state, after, () => service.watchState(id, request.clientId)),
      );
    },
  );
};

/** Sends the edit's changes after `after` (or its current state first, for a new stream) until it is terminal. */
async function follow(
  stream: EventStream,
  watch: Watch,
  first: { edit: EditResource; changes: StatusChange[] },
  after: bigint | undefined,
  read: () => Promise<{ edit: EditResource; changes: StatusChange[] }>,
): Promise<void> {
  let cursor: bigint;
  if (after === undefined) {
    // The edit may have moved on since its history was read: the first event is the last change read, so that
    // its id and status agree and the move after it comes as an event of its own.
    const last = first.changes.at(-1);
    cursor = last?.id ?? 0n;
    const status = last?.to ?? first.edit.status;
    stream.send('status', { ...first.edit, status }, cursor);
    if (isTerminal(status)) return;
  } else {
    cursor = after;
  }
  let state = first;
  for (;;) {
    for (const change of state.changes) {
      if (change.id <= cursor) continue;
      await stream.ready();
      if (stream.closed) return;
      // The edit row holds only its current state: an earlier change is shown with the status it moved to.
      stream.send('status', { ...state.edit, status: change.to }, change.id);
      cursor = change.id;
      if (isTerminal(change.to)) return;
    }
    // The hub wakes every watcher each WATCH_REREAD_MS, Redis or not; this bound is only a backstop.
    await watch.changed(60_000);
    if (stream.closed || watch.ending) return;
    try {
      state = await read();
    } catch (err) {
      stream.send('error', streamError(err));
      return;
    }
  }
}
