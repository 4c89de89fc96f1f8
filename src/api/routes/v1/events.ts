import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ClientEventsRead, formatPosition, parsePosition } from '../../../engine/watch/clientEvents.js';
import type { Watch } from '../../../engine/watch/wakeups.js';
import { errorResponses } from '../../../errors.js';
import type { ChangePosition } from '../../../store/edits/repository.js';
import { type EventStream, serveEventStream, streamError, streamEvents } from '../../eventStream.js';
import type { EditEventRoutesOptions } from './editEvents.js';

const eventsHeaders = z.object({
  'last-event-id': z
    .string()
    .optional()
    .describe('The `id:` of the last event (status or ping) received: the stream resumes after it, with no gap and no repeat'),
});

export const CLIENT_STREAM_DESCRIPTION = [
  'Server-sent events: every status change of every edit of the calling client, from the moment the stream opens (it may begin with one committed a moment before) or after `Last-Event-ID`. Each is `event: status` with `data:` the edit as GET /v1/edits/{id} shows it (its `id` says which), `status` the one it moved to; an edit’s own changes come in their order.',
  '`id:` is the stream’s position, `<n>-<n>`: opaque, to be sent back as `Last-Event-ID`. The order is defined across edits (a change is sent once every transaction that began before it has ended), so a resumed stream gets exactly what it has not seen. An `id:` this server did not send starts the stream afresh.',
  'First `event: ping` (`data: {}`) with the position the stream starts from, then one every EVENTS_PING_MS (15 s), each with the position reached, so a reconnect after a quiet spell resumes from there. `event: error` (`data: {"code","message"}`) ends a stream that could not read the changes; reconnect with `Last-Event-ID`. The stream also ends when the server shuts down or its reader falls too far behind: reconnect the same way.',
].join(' ');

/** While changes are held back behind a running transaction, re-reads come this soon, doubling up to the cap. */
const HELD_BACK_FIRST_MS = 5;
const HELD_BACK_MAX_MS = 200;

/** GET /v1/events. Registered inside the /v1 scope, behind bearer auth: it only ever reads the caller's own changes. */
export const clientEventRoutes: FastifyPluginAsyncZod<EditEventRoutesOptions> = async (app, { service, watch: wakeups, pingMs, bufferLimitBytes }) => {
  app.get(
    '/events',
    {
      schema: {
        operationId: 'streamClientEvents',
        summary: 'Follow every one of your edits’ status changes as server-sent events',
        description: CLIENT_STREAM_DESCRIPTION,
        tags: ['edits'],
        'x-error-codes': ['TOO_MANY_WATCHES', 'DATABASE_UNAVAILABLE'],
        'x-events': streamEvents({
          status: 'The stream’s position after this change, `<n>-<n>`: opaque, to send back as Last-Event-ID',
          ping: 'The position the stream has reached (the first ping: where it starts)',
        }),
        querystring: z.strictObject({}),
        headers: eventsHeaders,
        response: {
          200: {
            description: 'The event stream (`Cache-Control: no-cache, no-transform`, `X-Accel-Buffering: no`)',
            content: { 'text/event-stream': { schema: z.string().describe(CLIENT_STREAM_DESCRIPTION) } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const clientId = request.clientId;
      // Listening before the first read, so no change between that read and the first wait goes unheard.
      const watch = wakeups.watch(clientId);
      let first: ClientEventsRead;
      try {
        first = await service.clientEvents(clientId, parsePosition(request.headers['last-event-id']));
      } catch (err) {
        watch.close();
        throw err;
      }
      let position = first.position;
      await serveEventStream(
        reply,
        watch,
        { bufferLimitBytes, pingMs },
        () => formatPosition(position),
        (stream) =>
          follow(
            stream,
            watch,
            first,
            (from) => service.clientEvents(clientId, from),
            (reached) => {
              position = reached;
            },
          ),
      );
    },
  );
};

/** Sends every change read, then waits for a wake-up (or, while changes are held back, a short while) and reads on. */
async function follow(
  stream: EventStream,
  watch: Watch,
  first: ClientEventsRead,
  read: (from: ChangePosition) => Promise<ClientEventsRead>,
  reached: (position: ChangePosition) => void,
): Promise<void> {
  let state = first;
  let heldBackMs = HELD_BACK_FIRST_MS;
  let opened = false;
  for (;;) {
    for (const event of state.events) {
      await stream.ready();
      if (stream.closed) return;
      stream.send('status', event.edit, formatPosition(event.position));
      // A ping between two events of a batch must not take the reader's Last-Event-ID back.
      reached(event.position);
    }
    reached(state.position);
    if (!opened) {
      // Where the stream starts, so that a client that reconnects before any change resumes from here.
      stream.ping(formatPosition(state.position));
      opened = true;
    }
    if (!state.more) {
      if (state.heldBack) {
        await watch.changed(heldBackMs);
        heldBackMs = Math.min(heldBackMs * 2, HELD_BACK_MAX_MS);
      } else {
        heldBackMs = HELD_BACK_FIRST_MS;
        // The hub wakes every watcher each WATCH_REREAD_MS, Redis or not; this bound is only a backstop.
        await watch.changed(60_000);
      }
    }
    if (stream.closed || watch.ending) return;
    try {
      state = await read(state.position);
    } catch (err) {
      stream.send('error', streamError(err));
      return;
    }
  }
}
