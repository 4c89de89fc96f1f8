import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { jsonOrUndefined } from '../../shared/json.js';
import type { MoveListener } from '../../store/edits/repository.js';
import { EDIT_STATUSES } from '../../store/edits/status.js';

/** The one channel every process of a deployment publishes its status changes on, and every API process hears. */
export const wakeupChannel = (queuePrefix: string) => `${queuePrefix}:edit-moves`;

const wakeupMessage = z.object({ editId: z.string(), clientId: z.string(), status: z.enum(EDIT_STATUSES) });
export type Wakeup = z.infer<typeof wakeupMessage>;

/**
 * Publishes every committed status change, fire-and-forget, on the connection of the role that made it. A message
 * only tells waiters to read Postgres again, so one that is lost costs them a periodic re-read: a publish is never
 * queued while Redis is away (a worker's connection would hold it for as long as the outage lasts) and a failed one
 * is logged, never the move's failure.
 */
export function publishEditMoves(redis: Redis, queuePrefix: string, logger: Logger): MoveListener {
  const channel = wakeupChannel(queuePrefix);
  return (edit, move) => {
    if (redis.status !== 'ready') return;
    const message: Wakeup = { editId: edit.id, clientId: edit.clientId, status: move.to };
    redis.publish(channel, JSON.stringify(message)).catch((err: unknown) => {
      logger.warn({ err, editId: edit.id }, 'could not publish the status change; waiters re-read on their own');
    });
  };
}

export interface WatchLimits {
  perClient: number;
  perProcess: number;
  /** While anyone watches, every watcher re-reads this often, whatever Redis says: a lost message costs no more. */
  rereadMs: number;
}

/** One waiter's view of the wake-ups: `changed()` resolves at the next one (or at once if one came since the last call). */
export class Watch {
  private pending = false;
  private resolve: (() => void) | null = null;
  /** Set when the process shuts down: the watcher answers now with what it has. */
  ending = false;

  constructor(
    readonly clientId: string,
    public editId: string | undefined,
    private readonly hub: { release(watch: Watch): void; follow(watch: Watch, editId: string): void },
  ) {}

  /** Listens to one edit from now on: a POST learns its edit's id only once it is stored. */
  follow(editId: string): void {
    this.hub.follow(this, editId);
  }

  wake(): void {
    this.pending = true;
    this.resolve?.();
    this.resolve = null;
  }

  /** Resolves at the next wake-up or after `ms`, whichever comes first. */
  changed(ms: number): Promise<void> {
    if (this.pending || this.ending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.pending = false;
        if (self.resolve === done) self.resolve = null;
        resolve();
      }
      this.resolve = done;
    });
  }

  close(): void {
    this.hub.release(this);
  }
}

/**
 * An API process's wake-ups: ONE subscriber connection (made and closed by start.ts), dispatched in memory to the
 * watchers of an edit and of a client. Postgres stays the truth: a watcher subscribes before it reads, and a
 * wake-up only makes it read again.
 */
export class EditWakeups {
  private readonly byEdit = new Map<string, Set<Watch>>();
  private readonly byClient = new Map<string, Set<Watch>>();
  private readonly perClient = new Map<string, number>();
  private count = 0;
  private ticker: NodeJS.Timeout | null = null;
  private ended = false;

  /** Each watched edit's history row count at the last periodic check. */
  private readonly counted = new Map<string, number>();
  private checking = false;

  /**
   * `historyCounts`: each edit's number of history rows, for the periodic check to wake only the watchers of an edit
   * that changed; without it, every watcher re-reads.
   */
  constructor(
    private readonly subscriber: Redis | undefined,
    private readonly queuePrefix: string,
    readonly limits: WatchLimits,
    private readonly logger: Logger,
    private readonly historyCounts?: (editIds: string[]) => Promise<Map<string, number>>,
  ) {}

  /** Subscribes in the background: an API started while Redis is down serves its watchers by re-reads alone. */
  start(): void {
    if (!this.subscriber) return;
    const channel = wakeupChannel(this.queuePrefix);
    this.subscriber.on('message', (ch: string, raw: string) => {
      if (ch === channel) this.dispatch(raw);
    });
    this.subscriber.subscribe(channel).catch((err: unknown) => this.logger.warn({ err }, 'could not subscribe to status changes'));
  }

  private dispatch(raw: string): void {
    const message = wakeupMessage.safeParse(jsonOrUndefined(raw));
    if (!message.success) {
      this.logger.warn('ignored an unreadable status-change message');
      return;
    }
    const parsed: Wakeup = message.data;
    for (const watch of this.byEdit.get(parsed.editId) ?? []) watch.wake();
    for (const watch of this.byClient.get(parsed.clientId) ?? []) watch.wake();
  }

  /**
   * A watcher of one edit (`editId`) or of all a client's edits; 429 TOO_MANY_WATCHES past the caps, before
   * anything is stored or read. Close it when done.
   */
  watch(clientId: string, editId?: string): Watch {
    const ofClient = this.perClient.get(clientId) ?? 0;
    if (ofClient >= this.limits.perClient || this.count >= this.limits.perProcess) {
      throw new AppError(
        'TOO_MANY_WATCHES',
        ofClient >= this.limits.perClient
          ? `This client already has ${ofClient} waits and event streams open, the most it may`
          : 'This server holds as many waits and event streams as it may',
        undefined,
        { 'retry-after': '1' },
      );
    }
    const watch = new Watch(clientId, editId, this.hubOf);
    // One that comes in during the shutdown answers at once with what it reads.
    watch.ending = this.ended;
    this.perClient.set(clientId, ofClient + 1);
    this.count++;
    add(editId === undefined ? this.byClient : this.byEdit, editId ?? clientId, watch);
    if (!this.ticker) this.ticker = setInterval(() => void this.check(), this.limits.rereadMs);
    return watch;
  }

  private readonly hubOf = { release: (w: Watch) => this.release(w), follow: (w: Watch, editId: string) => this.follow(w, editId) };

  private follow(watch: Watch, editId: string): void {
    if (!this.unlist(watch)) return;
    watch.editId = editId;
    add(this.byEdit, editId, watch);
  }

  /** Takes the watch off its edit's or client's list; false when it was on none (closed already). */
  private unlist(watch: Watch): boolean {
    const map = watch.editId === undefined ? this.byClient : this.byEdit;
    const key = watch.editId ?? watch.clientId;
    const set = map.get(key);
    if (!set?.delete(watch)) return false;
    if (set.size === 0) map.delete(key);
    return true;
  }

  private release(watch: Watch): void {
    if (!this.unlist(watch)) return;
    const left = (this.perClient.get(watch.clientId) ?? 1) - 1;
    if (left > 0) this.perClient.set(watch.clientId, left);
    else this.perClient.delete(watch.clientId);
    this.count--;
    if (this.count === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  }

  /**
   * The periodic check, whatever Redis says: a wake-up lost (Redis away, or a publisher that could not publish)
   * costs no more than this. A client's watchers re-read (their own reads are one indexed range each); an edit's
   * are woken only if its history grew since the last check, found for every watched edit by one statement,
   * rather than each of a thousand streams reading its edit every round. An edit seen for the first time wakes its
   * watchers: its count before is unknown. An edit's rows only grow, so an unchanged count is an unchanged edit.
   */
  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (const set of this.byClient.values()) for (const watch of set) watch.wake();
      const ids = [...this.byEdit.keys()];
      if (ids.length === 0) return;
      let counts: Map<string, number> | undefined;
      if (this.historyCounts) {
        try {
          counts = await this.historyCounts(ids);
        } catch (err) {
          this.logger.warn({ err }, 'could not check the watched edits; every watcher re-reads');
        }
      }
      for (const id of ids) {
        const n = counts?.get(id) ?? 0;
        if (counts && this.counted.get(id) === n) continue;
        if (counts) this.counted.set(id, n);
        for (const watch of this.byEdit.get(id) ?? []) watch.wake();
      }
      for (const id of this.counted.keys()) if (!this.byEdit.has(id)) this.counted.delete(id);
    } finally {
      this.checking = false;
    }
  }

  get watching(): number {
    return this.count;
  }

  /** At shutdown: no new watchers, and every one answers now (waits with what they have, streams end). */
  shutdown(): void {
    this.ended = true;
    for (const map of [this.byEdit, this.byClient])
      for (const set of map.values())
        for (const watch of set) {
          watch.ending = true;
          watch.wake();
        }
  }
}

function add(map: Map<string, Set<Watch>>, key: string, watch: Watch): void {
  const set = map.get(key);
  if (set) set.add(watch);
  else map.set(key, new Set([watch]));
}
