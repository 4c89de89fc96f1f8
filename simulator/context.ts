import type { FaultPlan } from './faults.js';
import type { JobStore } from './jobStore.js';
import type { Ledger } from './ledger.js';
import type { JobLifecycle } from './lifecycle.js';
import type { TimerSet } from './timers.js';
import type { RecordedCall, RecordedDelivery, ResolvedOptions } from './types.js';
import type { UploadStore } from './uploadStore.js';
import type { WebhookSender } from './webhookSender.js';

/** Everything the simulator's routes work with, built once by createSimulator and passed in. */
export interface SimulatorContext {
  options: ResolvedOptions;
  store: JobStore;
  uploads: UploadStore;
  ledger: Ledger;
  faults: FaultPlan;
  lifecycle: JobLifecycle;
  sender: WebhookSender;
  timers: TimerSet;
  calls: RecordedCall[];
  deliveries: RecordedDelivery[];
  counters: { submits: number };
  /** Base of output URLs: `publicUrl`, else the listening address. */
  baseUrl(): string;
  stats(): SimulatorStats;
  reset(): void;
}

export interface SimulatorStats {
  submits: number;
  jobsCreated: number;
  unfinished: number;
  maxUnfinished: number;
  /** Gross: everything charged at submit, refunds not deducted (see refundedMicroCents). */
  chargedMicroCents: number;
  refundedMicroCents: number;
  balanceMicroCents: number;
}
