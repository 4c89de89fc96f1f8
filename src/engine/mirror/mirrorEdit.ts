import type { Logger } from 'pino';
import type { Prisma } from '../../generated/prisma/client.js';
import { backoffDelayMs } from '../../shared/backoff.js';
import type { MirrorTaskRepository } from '../../store/mirrors/repository.js';
import type { EditOutput, OutputMirror } from '../editResource.js';
import type { EditStore, EditTransitions } from '../transitions.js';
import { MirrorError, type OutputCopier } from './copyOutput.js';

export interface MirrorEditDeps {
  edits: Pick<EditStore, 'findById' | 'recordOutputMirror'>;
  tasks: Pick<MirrorTaskRepository, 'find' | 'ensure' | 'recordTry'>;
  transitions: Pick<EditTransitions, 'transition'>;
  /** Absent without a storage bucket: an edit still `storing` from when there was one is completed at once. */
  copier?: Pick<OutputCopier, 'copy'>;
  logger: Logger;
  /** MIRROR_DEADLINE_MS: for a task made here (an edit found storing without one). */
  deadlineMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  now?: () => Date;
}

/** What the queue should do with the mirror job next. */
export type MirrorDecision = { kind: 'done'; reason: string } | { kind: 'retry'; delayMs: number; reason: string };

/**
 * One try at an edit in `storing`: every output not yet in the bucket is streamed there (one after another, so an
 * edit holds one download at a time), each recorded in the edit's `outputs[n].mirror` as soon as it is stored, so a
 * later try, or another worker after a crash, stores only the rest. When all are stored the edit is `completed` (its
 * callback written by that move); when some failed it is tried again with backoff until the task's deadline, and at
 * the deadline completed all the same, `mirror.error` on each output that could not be stored: the upstream result
 * is never lost and the edit never waits for ever. An output that can never be stored (too large, a refused URL) is
 * given up at once.
 */
export async function mirrorEdit(editId: string, deps: MirrorEditDeps): Promise<MirrorDecision> {
  const now = deps.now ?? (() => new Date());
  const edit = await deps.edits.findById(editId);
  if (!edit) return { kind: 'done', reason: 'edit does not exist' };
  if (edit.status !== 'storing') return { kind: 'done', reason: `edit is ${edit.status}` };
  const task = (await deps.tasks.find(editId)) ?? (await deps.tasks.ensure(editId, new Date(now().getTime() + deps.deadlineMs)));

  const outputs = (edit.outputs as unknown as EditOutput[]).map((o) => ({ ...o }));
  const failures: { index: number; error: MirrorError }[] = [];
  for (const [index, output] of outputs.entries()) {
    if (output.mirror) continue;
    let mirror: OutputMirror;
    try {
      if (!deps.copier) throw new MirrorError('STORAGE_NOT_CONFIGURED', 'no storage bucket is configured (STORAGE_S3_BUCKET)', true);
      mirror = await deps.copier.copy({ clientId: edit.clientId, editId, index, url: output.url });
    } catch (err) {
      if (!(err instanceof MirrorError)) throw err;
      if (!err.permanent) {
        failures.push({ index, error: err });
        continue;
      }
      mirror = { error: { code: err.code, message: err.message } };
    }
    // Another run completed the edit meanwhile (a worker that lost its lock): nothing more is this run's to write.
    if (!(await deps.edits.recordOutputMirror(editId, index, mirror as unknown as Record<string, unknown>))) {
      return { kind: 'done', reason: 'edit no longer storing' };
    }
    output.mirror = mirror;
  }

  const at = now();
  const late = at.getTime() >= task.deadlineAt.getTime();
  if (failures.length === 0 || late) {
    for (const { index, error } of failures) outputs[index]!.mirror = { error: { code: error.code, message: error.message } };
    const stored = outputs.filter((o) => o.mirror && 'key' in o.mirror).length;
    const cause =
      failures.length === 0
        ? `${stored} of ${outputs.length} outputs stored in the bucket`
        : `mirror deadline passed: ${stored} of ${outputs.length} outputs stored, ${failures.length} could not be (${failures[0]!.error.code})`;
    const moved = await deps.transitions.transition(editId, 'completed', {
      cause,
      data: { outputs: outputs as unknown as Prisma.InputJsonValue, completedAt: at },
    });
    if (failures.length > 0 && moved.moved) {
      deps.logger.warn(
        { editId, failed: failures.map((f) => ({ index: f.index, code: f.error.code, message: f.error.message })) },
        'edit completed without every output stored',
      );
    }
    return { kind: 'done', reason: moved.moved ? cause : `edit is ${moved.edit?.status ?? 'gone'}` };
  }

  const attempts = task.attempts + 1;
  const first = failures[0]!.error;
  const delayMs = Math.max(0, Math.min(backoffDelayMs(attempts, deps.backoffBaseMs, deps.backoffMaxMs), task.deadlineAt.getTime() - at.getTime()));
  const lastError = `${failures.length} of ${outputs.length} outputs not stored; output ${failures[0]!.index}: ${first.code}: ${first.message}`.slice(0, 1000);
  await deps.tasks.recordTry(editId, { attempts, lastError, nextAttemptAt: new Date(at.getTime() + delayMs) });
  if (attempts === 1) deps.logger.warn({ editId, code: first.code, err: first.message }, 'could not store every output; retrying until the mirror deadline');
  return { kind: 'retry', delayMs, reason: lastError };
}
