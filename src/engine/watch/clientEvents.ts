import type { ChangePosition, ClientChange, ClientChangesRead, Edit } from '../../store/edits/repository.js';
import { type EditResource, toEditResource } from '../editResource.js';
import type { CallbackStates } from '../edits.js';

/**
 * GET /v1/events: every status change of a client's edits, in one order that a reader can resume from without a gap
 * or a repeat.
 *
 * A history row's id cannot be that order: ids are drawn from a sequence when a row is inserted, not when its
 * transaction commits, so a reader may see id 11 committed while id 10 is still in flight; had it moved its cursor
 * past 11, it would never see 10. Nor can commit order be read from Postgres. What can be known is which
 * transactions have all ended: those below a snapshot's xmin (`pg_snapshot_xmin(pg_current_snapshot())`), each of
 * which is either committed and visible in that snapshot, or rolled back. So every change carries an `eventXid`,
 * its transaction's id (xid8: 64 bits, never wraps), and a reader takes only the changes whose eventXid is below the
 * xmin of the snapshot it reads in, ordered by (eventXid, id). Everything below that horizon is final: a change not
 * yet committed has an eventXid at or above it, and so has every change yet to come (transaction ids only grow, and
 * the horizon of a later snapshot is never lower). The cursor is (eventXid, id), and once a read has taken all that
 * lies below its horizon the stream stands at (horizon, 0), past which anything can still come.
 *
 * An edit's own changes keep their order in this one: each change takes the larger of its transaction's id and the
 * edit's previous change's eventXid (kept on the edit's row, which every change locks), so a change whose
 * transaction got its id before the previous change's did is ordered after it all the same. A change's eventXid is
 * never below its own transaction's id, so the horizon still only passes it once that transaction has ended.
 *
 * The price: a change is held back while any transaction that got its id before the change's is still running,
 * anywhere on the Postgres server (xmin is the server's). The relay's own writes are single statements, so that is
 * milliseconds; a reader that sees committed changes held back reads again shortly (`heldBack`) rather than waiting
 * for the next wake-up. A long write transaction (a manual one in psql, a long migration) holds every stream back
 * until it ends. Postgres must be the primary: a standby's snapshots are not the primary's.
 */

/** How many changes one read takes; a stream behind by more reads again at once. */
export const CLIENT_EVENTS_BATCH = 50;

/** An event's `id:`: `<eventXid>-<history row id>`. Opaque to clients, who only send it back as Last-Event-ID. */
export function formatPosition(p: ChangePosition): string {
  return `${p.xid}-${p.id}`;
}

/** Last-Event-ID as a position of ours, or undefined for none or anything this server would not have sent. */
export function parsePosition(header: string | undefined): ChangePosition | undefined {
  const match = header === undefined ? null : /^(\d{1,20})-(\d{1,19})$/.exec(header.trim());
  if (!match) return undefined;
  const xid = BigInt(match[1]!);
  const id = BigInt(match[2]!);
  return xid < 2n ** 64n && id < 2n ** 63n ? { xid, id } : undefined;
}

const after = (a: ChangePosition, b: ChangePosition) => a.xid > b.xid || (a.xid === b.xid && a.id > b.id);

export interface ClientEvent {
  position: ChangePosition;
  /** The edit as GET /v1/edits/{id} shows it now, with `status` the one this change moved it to. */
  edit: EditResource;
}

export interface ClientEventsRead {
  events: ClientEvent[];
  /** Where the stream stands after these events: resuming from it gives exactly what follows them. */
  position: ChangePosition;
  /** More changes lie below the horizon than one read takes: read again at once. */
  more: boolean;
  /** Committed changes were seen that the horizon does not pass yet: read again shortly. */
  heldBack: boolean;
}

export interface ClientEventsDeps {
  edits: {
    clientChanges(clientId: string, after: ChangePosition, limit: number): Promise<ClientChangesRead>;
    findManyOwned(ids: string[], clientId: string): Promise<Edit[]>;
  };
  callbacks: CallbackStates;
}

/**
 * The client's changes after `from`, as events. A new stream (`from` undefined) starts at (horizon, 0): nothing
 * committed after it opened is missed, and a change committed just before, still above the horizon, comes as one of
 * its first events. A position beyond the horizon was never sent by this server (a stream only ever stands at or
 * below one): it starts afresh too.
 */
export async function readClientEvents(deps: ClientEventsDeps, clientId: string, from: ChangePosition | undefined, limit = CLIENT_EVENTS_BATCH) {
  if (from === undefined) return fresh(deps, clientId);
  const read = await deps.edits.clientChanges(clientId, from, limit);
  if (from.xid > read.horizon) return fresh(deps, clientId);
  return toEvents(deps, clientId, from, read, limit);
}

async function fresh(deps: ClientEventsDeps, clientId: string): Promise<ClientEventsRead> {
  const { horizon } = await deps.edits.clientChanges(clientId, { xid: 0n, id: 0n }, 0);
  return { events: [], position: { xid: horizon, id: 0n }, more: false, heldBack: false };
}

async function toEvents(deps: ClientEventsDeps, clientId: string, from: ChangePosition, read: ClientChangesRead, limit: number): Promise<ClientEventsRead> {
  const ready: ClientChange[] = [];
  for (const change of read.changes) {
    if (change.xid >= read.horizon) break;
    ready.push(change);
  }
  const heldBack = ready.length < read.changes.length;
  // Every change below the horizon is in this read unless the limit cut it short (a held-back one came after them all).
  const complete = read.changes.length < limit || heldBack;
  let position = ready.at(-1) ?? from;
  const edge = { xid: read.horizon, id: 0n };
  if (complete && after(edge, position)) position = edge;
  if (after(from, position)) position = from;

  // Read after the changes: each edit is at least as new as its changes listed.
  const ids = [...new Set(ready.map((c) => c.editId))];
  const [edits, callbacks] = await Promise.all([deps.edits.findManyOwned(ids, clientId), deps.callbacks.findByEdits(ids)]);
  const byId = new Map(edits.map((e) => [e.id, e]));
  const events: ClientEvent[] = [];
  for (const change of ready) {
    const edit = byId.get(change.editId);
    // Gone since (a deleted edit takes its history with it): nothing left to show.
    if (!edit) continue;
    events.push({ position: { xid: change.xid, id: change.id }, edit: { ...toEditResource(edit, undefined, callbacks.get(edit.id)), status: change.to } });
  }
  return { events, position: { xid: position.xid, id: position.id }, more: !complete, heldBack };
}
