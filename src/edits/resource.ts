import type { CallbackDelivery } from '../callbacks/repository.js';
import type { Edit, EditTransition } from './repository.js';

export interface EditOutput {
  url: string;
  type: string;
  width?: number;
  height?: number;
  format?: string;
}

/**
 * The edit as our API shows it. Tests and client tools are written against these names.
 * `callback` is the edit's callback delivery, if one exists (it is created when the edit becomes terminal).
 */
export function toEditResource(edit: Edit, history?: EditTransition[], callback?: CallbackDelivery | null) {
  return {
    id: edit.id,
    status: edit.status,
    model: edit.model,
    input: edit.input,
    callbackUrl: edit.callbackUrl,
    metadata: edit.metadata,
    upstream: { jobId: edit.upstreamJobId, requestId: edit.upstreamRequestId, status: edit.upstreamStatus },
    estimatedCompletionAt: iso(edit.estimatedCompletionAt),
    estimatedCostMicroCents: edit.estimatedCostMicroCents,
    costMicroCents: edit.costMicroCents,
    outputs: edit.outputs as unknown as EditOutput[],
    error: edit.errorCode ? { code: edit.errorCode, message: edit.errorMessage ?? '' } : null,
    createdAt: edit.createdAt.toISOString(),
    updatedAt: edit.updatedAt.toISOString(),
    submittedAt: iso(edit.submittedAt),
    completedAt: iso(edit.completedAt),
    callback: callback
      ? { status: callback.status, attempts: callback.attempts, lastError: callback.lastError, deliveredAt: iso(callback.deliveredAt) }
      : { status: 'none' as const, attempts: 0, lastError: null, deliveredAt: null },
    ...(history
      ? {
          history: history.map((h) => ({
            at: h.at.toISOString(),
            from: h.fromStatus,
            to: h.toStatus,
            cause: h.cause,
            upstreamCode: h.upstreamCode,
          })),
        }
      : {}),
  };
}
export type EditResource = ReturnType<typeof toEditResource>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);
