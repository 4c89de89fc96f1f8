import type { CallbackAttempt, CallbackDelivery } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import { type ClaimResult, claimDue } from './claimDue.js';
import { postpone } from './postpone.js';
import * as reads from './reads.js';
import { type AttemptRecord, type AttemptVerdict, recordAttempt } from './recordAttempt.js';
import { type RestartResult, restart } from './restart.js';

export type { AttemptRecord, AttemptVerdict, CallbackAttempt, CallbackDelivery, ClaimResult, RestartResult };

/**
 * Callback deliveries and their attempts, as the engine uses them: each method is one operation of its own file
 * beside this one; this object only binds them to a database. An attempt's own steps (claim, record, or postpone
 * when no slot is free) are single statements on node-postgres, each re-checking the row it changes: of two workers
 * claiming one delivery exactly one gets it, an outcome is never written over a delivery restarted into a new
 * series, and a postponement gives back only its own claim. The rest is Prisma.
 */
export class CallbackRepository {
  constructor(private readonly db: Db) {}

  findById(id: string): Promise<CallbackDelivery | null> {
    return reads.findById(this.db, id);
  }

  findByEdit(editId: string): Promise<CallbackDelivery | null> {
    return reads.findByEdit(this.db, editId);
  }

  findAllByEdit(editId: string): Promise<CallbackDelivery[]> {
    return reads.findAllByEdit(this.db, editId);
  }

  findByEdits(editIds: string[]): Promise<Map<string, CallbackDelivery>> {
    return reads.findByEdits(this.db, editIds);
  }

  attempts(deliveryId: string): Promise<CallbackAttempt[]> {
    return reads.attempts(this.db, deliveryId);
  }

  claimDue(id: string, now: Date, leaseUntil: Date): Promise<ClaimResult> {
    return claimDue(this.db, id, now, leaseUntil);
  }

  recordAttempt(deliveryId: string, attempt: AttemptRecord, verdict: AttemptVerdict, now = new Date()): Promise<boolean> {
    return recordAttempt(this.db, deliveryId, attempt, verdict, now);
  }

  postpone(id: string, series: number, leaseUntil: Date, nextAttemptAt: Date, now = new Date()): Promise<boolean> {
    return postpone(this.db, id, series, leaseUntil, nextAttemptAt, now);
  }

  restart(id: string, cooldownMs: number, now = new Date()): Promise<RestartResult> {
    return restart(this.db, id, cooldownMs, now);
  }

  findOverdue(dueBefore: Date, take: number): Promise<Pick<CallbackDelivery, 'id' | 'editId'>[]> {
    return reads.findOverdue(this.db, dueBefore, take);
  }
}
