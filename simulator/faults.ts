import type { SimJob, SubmitBehaviour, Switches, SwitchesPatch, WebhookMode } from './types.js';

/** What a submit does around its validation: answer with an error, hang up, wait, let a gateway answer, or carry on. */
export type SubmitInterception =
  | { kind: 'error'; status: number; code: string; message?: string; retryAfter?: number }
  | { kind: 'drop' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'accept-then-drop' }
  | { kind: 'accept-then-slow'; delayMs: number }
  | { kind: 'gateway-error'; status: 502 | 504; jobCreated: boolean }
  | { kind: 'none' };

export interface SubmitPlan {
  interception: SubmitInterception;
  outcome: SimJob['outcome'];
  webhookMode: WebhookMode;
}

/**
 * The faults of a run: global switches plus a FIFO of one-shot behaviours, one consumed per submit.
 * A one-shot behaviour wins over the global `submitFault` for that submit.
 */
export class FaultPlan {
  switches: Switches = {};
  readonly queue: SubmitBehaviour[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  configure(patch: Partial<Switches> | SwitchesPatch): void {
    const next: Record<string, unknown> = { ...this.switches };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined || value === null) delete next[key];
      else next[key] = value;
    }
    this.switches = next as Switches;
  }

  enqueue(behaviours: SubmitBehaviour[]): void {
    this.queue.push(...behaviours);
  }

  reset(): void {
    this.switches = {};
    this.queue.length = 0;
  }

  planSubmit(): SubmitPlan {
    const behaviour = this.queue.shift() ?? this.globalSubmitFault();
    let interception: SubmitInterception = { kind: 'none' };
    let outcome: SimJob['outcome'] | undefined;
    let webhookMode: WebhookMode | undefined;
    switch (behaviour?.kind) {
      case 'error':
      case 'drop':
      case 'slow':
      case 'accept-then-drop':
      case 'accept-then-slow':
      case 'gateway-error':
        interception = behaviour;
        break;
      case 'generation-failure':
        outcome = 'failed';
        break;
      case 'early-webhook':
        webhookMode = 'early';
        break;
      case 'drop-webhook':
        webhookMode = 'drop';
        break;
      case 'duplicate-webhook':
        webhookMode = 'duplicate';
        break;
      case undefined:
        break;
    }
    const { failureRate, webhook, webhookFaultRate } = this.switches;
    outcome ??= failureRate !== undefined && this.random() < failureRate ? 'failed' : 'completed';
    webhookMode ??= webhook !== undefined && this.random() < (webhookFaultRate ?? 1) ? webhook : 'deliver';
    return { interception, outcome, webhookMode };
  }

  private globalSubmitFault(): SubmitBehaviour | undefined {
    const { submitFault, submitFaultRate } = this.switches;
    if (!submitFault) return undefined;
    return submitFaultRate === undefined || this.random() < submitFaultRate ? submitFault : undefined;
  }
}
