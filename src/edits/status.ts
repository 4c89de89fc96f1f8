import type { EditStatus } from '../generated/prisma/enums.js';

export type { EditStatus };

export const EDIT_STATUSES = ['queued', 'submitting', 'submitted', 'processing', 'completed', 'failed', 'cancelled'] as const satisfies readonly EditStatus[];
export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly EditStatus[];

export function isTerminal(status: EditStatus): boolean {
  return (TERMINAL_STATUSES as readonly EditStatus[]).includes(status);
}

/**
 * The one place that says which status may follow which. An edit only ever moves forward: a late,
 * repeated or reordered event finds its source status gone and changes nothing.
 */
const NEXT: Record<EditStatus, readonly EditStatus[]> = {
  queued: ['submitting', 'failed', 'cancelled'],
  submitting: ['submitted', 'processing', 'completed', 'failed', 'cancelled'],
  submitted: ['processing', 'completed', 'failed', 'cancelled'],
  processing: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function canMove(from: EditStatus, to: EditStatus): boolean {
  return NEXT[from].includes(to);
}
