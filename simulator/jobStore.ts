import { randomBytes } from 'node:crypto';
import { type JobStatus, type SimJob, UNFINISHED } from './types.js';

export function randomId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

export type NewJob = Omit<SimJob, 'jobId' | 'seq' | 'status' | 'error' | 'createdAt' | 'completedAt'>;

export interface ListQuery {
  apiKey: string;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  status?: JobStatus;
  modelId?: string;
}

/** Jobs in memory, the only place a job's status changes (every change is guarded by the allowed from-states). */
export class JobStore {
  readonly jobs = new Map<string, SimJob>();
  private seq = 0;
  private unfinishedNow = 0;
  maxUnfinished = 0;
  jobsCreated = 0;

  create(fields: NewJob, now = new Date()): SimJob {
    const job: SimJob = {
      ...fields,
      jobId: randomId('job'),
      seq: ++this.seq,
      status: 'pending',
      error: null,
      createdAt: now,
      completedAt: null,
    };
    this.jobs.set(job.jobId, job);
    this.jobsCreated += 1;
    this.unfinishedNow += 1;
    this.maxUnfinished = Math.max(this.maxUnfinished, this.unfinishedNow);
    return job;
  }

  /** A job as seen by one API key: other keys' jobs do not exist for it. */
  find(apiKey: string, jobId: string): SimJob | undefined {
    const job = this.jobs.get(jobId);
    return job && job.apiKey === apiKey ? job : undefined;
  }

  /** Moves a job to `to` only when its status is one of `from`; returns whether it moved. */
  transition(job: SimJob, from: readonly JobStatus[], to: JobStatus, patch: Partial<Pick<SimJob, 'error' | 'completedAt'>> = {}): boolean {
    if (!from.includes(job.status)) return false;
    const wasUnfinished = UNFINISHED.has(job.status);
    job.status = to;
    Object.assign(job, patch);
    if (wasUnfinished && !UNFINISHED.has(to)) this.unfinishedNow -= 1;
    return true;
  }

  unfinishedFor(apiKey: string): number {
    let count = 0;
    for (const job of this.jobs.values()) if (job.apiKey === apiKey && UNFINISHED.has(job.status)) count += 1;
    return count;
  }

  get unfinished(): number {
    return this.unfinishedNow;
  }

  /** Newest first; the cursor is the last returned job's sequence number. */
  list(query: ListQuery): { jobs: SimJob[]; nextCursor: string | null; hasMore: boolean } {
    const before = query.cursor === undefined ? Number.POSITIVE_INFINITY : decodeCursor(query.cursor);
    const matching = [...this.jobs.values()]
      .filter(
        (job) =>
          job.apiKey === query.apiKey &&
          job.seq < before &&
          (query.status === undefined || job.status === query.status) &&
          (query.modelId === undefined || job.model === query.modelId),
      )
      .sort((a, b) => b.seq - a.seq);
    const page = matching.slice(0, query.limit);
    const hasMore = matching.length > page.length;
    const last = page.at(-1);
    return { jobs: page, hasMore, nextCursor: hasMore && last ? encodeCursor(last.seq) : null };
  }

  clear(): void {
    this.jobs.clear();
    this.seq = 0;
    this.unfinishedNow = 0;
    this.maxUnfinished = 0;
    this.jobsCreated = 0;
  }
}

function encodeCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

/** Returns NaN for a cursor this store never issued. */
export function decodeCursor(cursor: string): number {
  const match = /^seq:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  return match ? Number(match[1]) : Number.NaN;
}
