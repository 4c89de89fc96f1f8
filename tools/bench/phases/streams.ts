import { request } from 'node:http';
import { type Context, post, waitTerminal } from '../context.js';
import { checkAbort, log, round, sleep } from '../control.js';
import { terminalCount } from '../database.js';
import { summarize } from '../load.js';
import { cpuMs, memoryMb } from '../processes.js';
import type { JobTimes, UpstreamStats } from '../upstream.js';

/** Streams of every edit of the client (GET /v1/events) opened beside the per-edit ones. */
const CLIENT_STREAMS = 4;

export interface StreamFigures {
  /** Per-edit streams (GET /v1/edits/{id}/events), one per edit, and client streams (GET /v1/events). */
  editStreams: number;
  clientStreams: number;
  /** The API process's RSS before the streams were opened, with all of them open and idle, and at its peak. */
  apiRssMb: { before: number; open: number; peak: number };
  eventsDelivered: number;
  /** The API process's CPU from the first webhook released to the last event delivered, per event delivered. */
  apiCpuMsPerEvent: number;
  /** Webhook sent by the upstream (the relay receives it within a loopback round trip) → the edit's terminal event read by a stream. */
  webhookToEditStream: ReturnType<typeof summarize>;
  webhookToClientStream: ReturnType<typeof summarize>;
  /**
   * The terminal status change (its history row's time, taken just before the statement that commits it, on
   * whichever API process took the webhook) → the event read by a stream on the first API process: what the
   * wake-up and the re-read add, without the webhook's own wait for a connection and the pool.
   */
  changeToEditStream: ReturnType<typeof summarize>;
  changeToClientStream: ReturnType<typeof summarize>;
  failedStreams: number;
}

interface OpenStream {
  events: number;
  /** When the stream delivered each edit's terminal event (ms since the epoch). */
  terminalAt: Map<string, number>;
  failed: boolean;
  close(): void;
}

/** A stream read as an EventSource would, over a connection of its own, counting events and noting terminal ones. */
function openStream(url: string, apiKey: string): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const stream: OpenStream = { events: 0, terminalAt: new Map(), failed: false, close: () => req.destroy() };
    const req = request(url, { agent: false, headers: { authorization: `Bearer ${apiKey}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        stream.failed = true;
        res.resume();
        resolve(stream);
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!block.includes('event: status')) continue;
          stream.events++;
          const data = block.slice(block.indexOf('data: ') + 6);
          const status = /"status":"(\w+)"/.exec(data)?.[1];
          if (status === 'completed' || status === 'failed' || status === 'cancelled') stream.terminalAt.set(/"id":"([^"]+)"/.exec(data)![1]!, Date.now());
        }
      });
      res.on('error', () => {
        stream.failed = true;
      });
      resolve(stream);
    });
    req.on('error', (err) => {
      stream.failed = true;
      reject(err);
    });
    req.end();
  });
}

/**
 * Phase 4: `o.streams` edits, each followed by a stream of its own on the first API process, plus a few streams of
 * every edit of the client, with the edits held at the upstream while the streams open; then their webhooks are sent,
 * and the phase ends once every stream has its edit's terminal event.
 */
export async function streamsPhase(ctx: Context): Promise<StreamFigures> {
  const { o, db, upstream, relay } = ctx;
  const api = relay.apis[0] ?? relay.all[0]!;
  const apiUrl = relay.apiUrls[0]!;
  await upstream.send({ cmd: 'phase', phase: 'streams' });
  await upstream.send({ cmd: 'hold', on: true });
  const base = terminalCount(await db.statusCounts());
  log(`streams: posting ${o.streams} edits, webhooks held`);
  const held = await post(ctx, o.streams);
  for (let waited = 0; ; waited += 200) {
    checkAbort();
    const stats = await upstream.send<UpstreamStats>({ cmd: 'stats' });
    if (stats.held >= held.accepted) break;
    if (waited > 120_000) throw new Error(`streams: only ${stats.held}/${held.accepted} edits reached the upstream`);
    await sleep(200);
  }
  const jobs = await upstream.send<JobTimes[]>({ cmd: 'jobs', phase: 'streams' });
  const rssBefore = memoryMb(api.pid)?.rss ?? Number.NaN;

  log(`streams: opening ${jobs.length} per-edit streams and ${CLIENT_STREAMS} client streams on ${api.name}`);
  const editStreams: OpenStream[] = [];
  for (let i = 0; i < jobs.length; i += 50) {
    editStreams.push(...(await Promise.all(jobs.slice(i, i + 50).map((j) => openStream(`${apiUrl}/v1/edits/${j.editId}/events`, ctx.apiKey)))));
  }
  const clientStreams = await Promise.all(Array.from({ length: CLIENT_STREAMS }, () => openStream(`${apiUrl}/v1/events`, ctx.apiKey)));
  await sleep(2_000);
  const rssOpen = memoryMb(api.pid)?.rss ?? Number.NaN;
  const failedToOpen = [...editStreams, ...clientStreams].filter((s) => s.failed).length;
  if (failedToOpen > 0) log(`streams: ${failedToOpen} streams were refused`);
  // What the streams delivered while they opened (each edit's current state) is not counted against the webhooks.
  const openingEvents = [...editStreams, ...clientStreams].reduce((n, s) => n + s.events, 0);

  const cpuStart = cpuMs(api.pid) ?? Number.NaN;
  const released = await upstream.send<{ released: number }>({ cmd: 'release', concurrency: o.streamRelease });
  await upstream.send({ cmd: 'hold', on: false });
  log(`streams: released ${released.released} webhooks, ${o.streamRelease} at a time`);
  await waitTerminal(db, base + held.accepted, 'streams', { pollMs: 100 });
  const everyStreamDone = () =>
    editStreams.every((s, i) => s.failed || s.terminalAt.has(jobs[i]!.editId)) &&
    clientStreams.every((s) => s.failed || jobs.every((j) => s.terminalAt.has(j.editId)));
  for (let waited = 0; !everyStreamDone(); waited += 50) {
    if (waited > 60_000) throw new Error('streams: some streams never delivered their terminal event');
    await sleep(50);
  }
  const cpuEnd = cpuMs(api.pid) ?? Number.NaN;
  const delivered = [...editStreams, ...clientStreams].reduce((n, s) => n + s.events, 0) - openingEvents;
  const sent = new Map((await upstream.send<JobTimes[]>({ cmd: 'jobs', phase: 'streams' })).map((j) => [j.editId, j.sentAt]));
  const latency = (s: OpenStream) => [...s.terminalAt].flatMap(([id, at]) => (sent.get(id) ? [at - sent.get(id)!] : []));
  const changed = await db.terminalTransitions(jobs.map((j) => j.editId));
  const sinceChange = (s: OpenStream) => [...s.terminalAt].flatMap(([id, at]) => (changed.get(id) ? [at - changed.get(id)!.at] : []));
  for (const s of [...editStreams, ...clientStreams]) s.close();

  const figures: StreamFigures = {
    editStreams: editStreams.length,
    clientStreams: clientStreams.length,
    apiRssMb: { before: round(rssBefore, 1), open: round(rssOpen, 1), peak: round(memoryMb(api.pid)?.peak ?? Number.NaN, 1) },
    eventsDelivered: delivered,
    apiCpuMsPerEvent: round((cpuEnd - cpuStart) / Math.max(1, delivered), 3),
    webhookToEditStream: summarize(editStreams.flatMap(latency)),
    webhookToClientStream: summarize(clientStreams.flatMap(latency)),
    changeToEditStream: summarize(editStreams.flatMap(sinceChange)),
    changeToClientStream: summarize(clientStreams.flatMap(sinceChange)),
    failedStreams: [...editStreams, ...clientStreams].filter((s) => s.failed).length,
  };
  log(
    `streams: ${delivered} events delivered; api RSS ${figures.apiRssMb.before} → ${figures.apiRssMb.open} MB with the streams open; ` +
      `${figures.apiCpuMsPerEvent} ms CPU per event; webhook → edit stream p50 ${figures.webhookToEditStream.p50} / p99 ${figures.webhookToEditStream.p99} ms, ` +
      `→ client stream p50 ${figures.webhookToClientStream.p50} / p99 ${figures.webhookToClientStream.p99} ms; ` +
      `status change → edit stream p50 ${figures.changeToEditStream.p50} / p99 ${figures.changeToEditStream.p99} ms, ` +
      `→ client stream p50 ${figures.changeToClientStream.p50} / p99 ${figures.changeToClientStream.p99} ms`,
  );
  return figures;
}
