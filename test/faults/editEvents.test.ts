import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from '../../testkit/tcpProxy.js';
import { type ChildRelay, startChildRelay } from '../helpers/childRelay.js';
import { createClient, TEST_ADMIN_TOKEN } from '../helpers/clients.js';
import { openEventStream, restOfStream, type ServerEvent } from '../helpers/eventStream.js';
import { freePort, type RelayWithSimulator, sameDeploymentEnv, startRelayWithSimulator } from '../helpers/relay.js';
import { testRedisUrl } from '../helpers/services.js';

const ORDER = ['queued', 'submitting', 'submitted', 'processing', 'completed'];
const body = { input: { prompt: 'Make the sky purple', image_urls: ['https://example.com/a.jpg'] } };

// API process A is this test's own, its Redis behind a proxy the test cuts; API process B, which PixelByte's webhooks
// reach (PUBLIC_BASE_URL), and the worker, which submits, are child processes of the same deployment.
let r: RelayWithSimulator;
let redisProxy: TcpProxy;
let b: ChildRelay;
let worker: ChildRelay;
let bUrl: string;

beforeAll(async () => {
  const redis = new URL(testRedisUrl());
  redisProxy = new TcpProxy(redis.hostname, Number(redis.port || 6379));
  const proxyUrl = new URL(redis.href);
  proxyUrl.host = `127.0.0.1:${await redisProxy.start()}`;
  const bPort = await freePort();
  bUrl = `http://127.0.0.1:${bPort}`;
  r = await startRelayWithSimulator(
    { ROLE: 'api', REDIS_URL: proxyUrl.href, PUBLIC_BASE_URL: bUrl, WATCH_REREAD_MS: '300', EVENTS_PING_MS: '200', ADMIN_TOKEN: TEST_ADMIN_TOKEN },
    { pendingMs: 600, processingMs: 1_000 },
  );
  const direct = { REDIS_URL: redis.href };
  [b, worker] = await Promise.all([
    startChildRelay(sameDeploymentEnv(r.t, { ...direct, ROLE: 'api', HOST: '127.0.0.1', PORT: String(bPort) })),
    startChildRelay(sameDeploymentEnv(r.t, { ...direct, ROLE: 'worker', PORT: '0' })),
  ]);
}, 60_000);

afterAll(async () => {
  b?.kill('SIGTERM');
  worker?.kill('SIGTERM');
  await Promise.all([b?.exited, worker?.exited]);
  await r?.stop();
  await redisProxy?.stop();
});

async function postEdit(): Promise<{ id: string }> {
  const res = await fetch(`${r.t.relay.url}/v1/edits`, {
    method: 'POST',
    headers: { ...r.t.auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string };
}

const eventsUrl = (id: string) => `${r.t.relay.url}/v1/edits/${id}/events`;
const statuses = (events: ServerEvent[]) => events.map((e) => JSON.parse(e.data).status);
const ids = (events: ServerEvent[]) => events.map((e) => BigInt(e.id!));

/** The edit's status changes as Postgres holds them (notes, which change no status, left out). */
async function changes(id: string) {
  return (await r.t.edits.history(id)).filter((h) => h.fromStatus !== h.toStatus).map((h) => ({ id: h.id, to: h.toStatus }));
}

function expectInOrder(events: ServerEvent[]) {
  const seen = statuses(events);
  expect(seen.map((s) => ORDER.indexOf(s))).toEqual([...seen.map((s) => ORDER.indexOf(s))].sort((x, y) => x - y));
  const seq = ids(events);
  for (let i = 1; i < seq.length; i++) expect(seq[i]! > seq[i - 1]!).toBe(true);
}

describe('GET /v1/edits/{id}/events across processes', () => {
  it('a stream on A sees the current state, then every status change in order to completed, the webhook landing on B', async () => {
    const edit = await postEdit();
    const stream = await openEventStream(eventsUrl(edit.id), r.t.auth);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(stream.headers.get('x-accel-buffering')).toBe('no');
    const events = await restOfStream(stream);
    expect(events.every((e) => e.event === 'status')).toBe(true);
    expectInOrder(events);
    expect(statuses(events).at(-1)).toBe('completed');
    const last = JSON.parse(events.at(-1)!.data);
    expect(last).toMatchObject({ id: edit.id, status: 'completed' });
    expect(last.outputs.length).toBeGreaterThan(0);

    // Every change after the first event's is one event, with its history row's id.
    const all = await changes(edit.id);
    const after = all.filter((c) => c.id > ids(events)[0]!);
    expect(events.slice(1).map((e) => [BigInt(e.id!), JSON.parse(e.data).status])).toEqual(after.map((c) => [c.id, c.to]));
    expect(statuses(events)[0]).toBe(all.find((c) => c.id === ids(events)[0])?.to);
    expect(r.sim.deliveries.some((d) => d.url.startsWith(bUrl))).toBe(true);
    expect(b.output()).toContain(edit.id);
  });

  it('reconnecting with Last-Event-ID after the second event yields exactly the rest, then 204 once all is seen', async () => {
    const edit = await postEdit();
    const stream = await openEventStream(eventsUrl(edit.id), r.t.auth);
    const firstTwo: ServerEvent[] = [];
    while (firstTwo.length < 2) {
      const event = await stream.next();
      if (event && event.event === 'status') firstTwo.push(event);
    }
    stream.close();
    const resumeAfter = firstTwo[1]!.id!;

    const resumed = await openEventStream(eventsUrl(edit.id), { ...r.t.auth, 'last-event-id': resumeAfter });
    const rest = await restOfStream(resumed);
    expectInOrder([...firstTwo, ...rest]);
    expect(rest.map((e) => [BigInt(e.id!), JSON.parse(e.data).status])).toEqual(
      (await changes(edit.id)).filter((c) => c.id > BigInt(resumeAfter)).map((c) => [c.id, c.to]),
    );
    // The simulator may skip `processing`: the second event can be the terminal one, and then nothing is left.
    const seen = [...firstTwo, ...rest];
    expect(statuses(seen).at(-1)).toBe('completed');

    const done = await fetch(eventsUrl(edit.id), { headers: { ...r.t.auth, 'last-event-id': seen.at(-1)!.id! } });
    expect(done.status).toBe(204);
  });

  it('with A cut off from Redis mid-stream, the stream still delivers the remaining events from Postgres', async () => {
    const edit = await postEdit();
    const stream = await openEventStream(eventsUrl(edit.id), r.t.auth);
    const first = await stream.next();
    expect(first?.event).toBe('status');
    redisProxy.cut();
    try {
      // No wake-up reaches A now: what it sends, it found by re-reading Postgres every WATCH_REREAD_MS.
      const rest = await restOfStream(stream);
      const events = [first!, ...rest];
      expect(rest.map((e) => e.event)).not.toContain('error');
      expectInOrder(events);
      expect(statuses(events).at(-1)).toBe('completed');
      expect(events.slice(1).map((e) => BigInt(e.id!))).toEqual((await changes(edit.id)).filter((c) => c.id > BigInt(first!.id!)).map((c) => c.id));
    } finally {
      redisProxy.restore();
    }
  });

  it("answers 404 for another client's edit, and a ping comes while nothing changes", async () => {
    const other = await createClient(r.t);
    const edit = await postEdit();
    const res = await fetch(eventsUrl(edit.id), { headers: other.auth });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('EDIT_NOT_FOUND');

    const stream = await openEventStream(eventsUrl(edit.id), r.t.auth);
    let ping: ServerEvent | null = null;
    while (!ping) {
      const event = await stream.next();
      if (event === null) break;
      if (event.event === 'ping') ping = event;
    }
    stream.close();
    expect(ping).toMatchObject({ event: 'ping', data: '{}' });
  });
});

describe('GET /v1/events across processes', () => {
  const clientEventsUrl = () => `${r.t.relay.url}/v1/events`;
  const position = (id: string) => {
    const [xid, row] = id.split('-');
    return { xid: BigInt(xid!), id: BigInt(row!) };
  };
  const before = (a: string, b: string) => {
    const x = position(a);
    const y = position(b);
    return x.xid < y.xid || (x.xid === y.xid && x.id < y.id);
  };

  /** The client's status changes after `after`, in the stream's order, as Postgres holds them. */
  async function clientChanges(clientId: string, after: string) {
    const p = position(after);
    const rows = await r.t.db.$queryRaw<{ id: string; editId: string; to: string }[]>`
      SELECT "eventXid"::text || '-' || "id"::text AS "id", "editId"::text AS "editId", "toStatus"::text AS "to" FROM "EditTransition"
      WHERE "clientId" = ${clientId} AND ("eventXid", "id") > (${p.xid.toString()}::xid8, ${p.id}::int8) AND "fromStatus" IS DISTINCT FROM "toStatus"
      ORDER BY "eventXid", "id"`;
    return rows.map((row) => [row.id, row.editId, row.to]);
  }

  async function post(auth: Record<string, string>): Promise<string> {
    const res = await fetch(`${r.t.relay.url}/v1/edits`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }

  /** The next status event (a ping comes every EVENTS_PING_MS, 200 here, and may come first). */
  async function nextStatus(stream: Awaited<ReturnType<typeof openEventStream>>) {
    for (;;) {
      const event = await stream.next(20_000);
      if (event === null) throw new Error('the stream ended');
      if (event.event !== 'ping') return event;
    }
  }

  /** Status events until every one of `ids` has completed (pings left out). */
  async function untilCompleted(stream: Awaited<ReturnType<typeof openEventStream>>, ids: string[], seen: ServerEvent[] = []) {
    const done = new Set(seen.filter((e) => JSON.parse(e.data).status === 'completed').map((e) => JSON.parse(e.data).id));
    while (!ids.every((id) => done.has(id))) {
      const event = await stream.next(20_000);
      if (event === null) throw new Error('the stream ended');
      if (event.event === 'ping') continue;
      seen.push(event);
      const data = JSON.parse(event.data);
      if (data.status === 'completed') done.add(data.id);
    }
    return seen;
  }

  function expectEachEditInOrder(events: ServerEvent[]) {
    for (let i = 1; i < events.length; i++) expect(before(events[i - 1]!.id!, events[i]!.id!), `${events[i - 1]!.id} < ${events[i]!.id}`).toBe(true);
    const byEdit = new Map<string, string[]>();
    for (const e of events) {
      const { id, status } = JSON.parse(e.data);
      byEdit.set(id, [...(byEdit.get(id) ?? []), status]);
    }
    for (const seen of byEdit.values()) expectForward(seen);
  }

  /** Each status after the one before it in ORDER (the simulator may skip `processing`), never a repeat. */
  function expectForward(seen: string[]) {
    const at = seen.map((s) => ORDER.indexOf(s));
    for (let i = 1; i < at.length; i++) expect(at[i]!, seen.join(' → ')).toBeGreaterThan(at[i - 1]!);
  }

  const queuedToCompleted = (seen: string[]) => {
    expectForward(seen);
    expect([seen[0], seen.at(-1)]).toEqual(['queued', 'completed']);
  };

  it('a stream on A sees every edit of its client go queued → … → completed, in order, the submits on the worker and the webhooks on B', async () => {
    const client = await createClient(r.t);
    const stream = await openEventStream(clientEventsUrl(), client.auth);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('cache-control')).toBe('no-cache, no-transform');
    // The first event says where the stream starts.
    const opened = await stream.next();
    expect(opened).toMatchObject({ event: 'ping', data: '{}' });
    expect(opened!.id).toMatch(/^\d+-\d+$/);

    const ids = [await post(client.auth), await post(client.auth)];
    // Another client's edit is never in this stream.
    const foreign = await post(r.t.auth);
    const events = await untilCompleted(stream, ids);
    stream.close();
    expect(events.every((e) => e.event === 'status')).toBe(true);
    expect(events.map((e) => JSON.parse(e.data).id)).not.toContain(foreign);
    expectEachEditInOrder(events);
    for (const id of ids) queuedToCompleted(events.filter((e) => JSON.parse(e.data).id === id).map((e) => JSON.parse(e.data).status));
    const last = JSON.parse(events.at(-1)!.data);
    expect(last.outputs.length).toBeGreaterThan(0);
    // Exactly the client's changes since the stream opened, with their positions.
    expect(events.map((e) => [e.id, JSON.parse(e.data).id, JSON.parse(e.data).status])).toEqual(await clientChanges(client.id, opened!.id!));
    for (const id of ids) expect(r.sim.deliveries.some((d) => d.url.startsWith(bUrl) && d.url.endsWith(id))).toBe(true);
  });

  it('reconnecting with Last-Event-ID after the second event yields exactly the rest; a ping’s id resumes as well', async () => {
    const client = await createClient(r.t);
    const stream = await openEventStream(clientEventsUrl(), client.auth);
    const opened = (await stream.next())!;
    const id = await post(client.auth);
    const firstTwo: ServerEvent[] = [];
    while (firstTwo.length < 2) firstTwo.push(await nextStatus(stream));
    stream.close();
    const resumeAfter = firstTwo[1]!.id!;

    const resumed = await openEventStream(clientEventsUrl(), { ...client.auth, 'last-event-id': resumeAfter });
    const rest = await untilCompleted(resumed, [id]);
    resumed.close();
    expectEachEditInOrder([...firstTwo, ...rest]);
    queuedToCompleted([...firstTwo, ...rest].map((e) => JSON.parse(e.data).status));
    expect(rest.map((e) => [e.id, JSON.parse(e.data).id, JSON.parse(e.data).status])).toEqual(await clientChanges(client.id, resumeAfter));

    // From the opening ping's position: the whole of it again.
    const replay = await openEventStream(clientEventsUrl(), { ...client.auth, 'last-event-id': opened.id! });
    const all = await untilCompleted(replay, [id]);
    replay.close();
    expect(all.map((e) => e.id)).toEqual([...firstTwo, ...rest].map((e) => e.id));
  });

  it('with A cut off from Redis mid-stream, the stream still delivers every change, from Postgres', async () => {
    const client = await createClient(r.t);
    const stream = await openEventStream(clientEventsUrl(), client.auth);
    const opened = (await stream.next())!;
    const id = await post(client.auth);
    const first = await nextStatus(stream);
    expect(first.event).toBe('status');
    redisProxy.cut();
    try {
      const rest = await untilCompleted(stream, [id]);
      stream.close();
      const events = [first, ...rest];
      expect(events.map((e) => e.event)).not.toContain('error');
      queuedToCompleted(events.map((e) => JSON.parse(e.data).status));
      expect(events.map((e) => e.id)).toEqual((await clientChanges(client.id, opened.id!)).map(([p]) => p));
    } finally {
      redisProxy.restore();
    }
  });
});
