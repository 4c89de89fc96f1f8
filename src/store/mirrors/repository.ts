import type { MirrorTask } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

export type { MirrorTask };

/** What a try that stored not every output leaves on the task: when to try again, and why this one fell short. */
export interface MirrorTry {
  attempts: number;
  lastError: string;
  nextAttemptAt: Date;
}

/**
 * The mirror's tasks (MirrorTask), as the engine uses them. A task is written by the move into `storing`
 * (edits/onStoringMove) and finished by the move into `completed` (edits/onTerminalMove/finishMirrorTask); these are
 * the steps between, each one short statement on the row's primary key, or the sweeper's read by its index.
 */
export class MirrorTaskRepository {
  constructor(private readonly db: Db) {}

  find(editId: string): Promise<MirrorTask | null> {
    return this.db.mirrorTask.findUnique({ where: { editId } });
  }

  /** The task of an edit found in `storing` without one (written by hand, say): made now, with a deadline from now. */
  async ensure(editId: string, deadlineAt: Date, now = new Date()): Promise<MirrorTask> {
    return this.db.mirrorTask.upsert({ where: { editId }, create: { editId, deadlineAt, nextAttemptAt: now, createdAt: now }, update: {} });
  }

  /** Only onto an unfinished task: a try that lost a race with the completion changes nothing. */
  async recordTry(editId: string, attempt: MirrorTry): Promise<void> {
    await this.db.mirrorTask.updateMany({ where: { editId, finishedAt: null }, data: attempt });
  }

  /** Unfinished tasks due before `dueBefore`: each must have a live mirror job (the sweeper's read). */
  findOverdue(dueBefore: Date, take: number): Promise<Pick<MirrorTask, 'editId'>[]> {
    return this.db.mirrorTask.findMany({
      where: { finishedAt: null, nextAttemptAt: { lt: dueBefore } },
      select: { editId: true },
      orderBy: { nextAttemptAt: 'asc' },
      take,
    });
  }
}
