import type { Edit, EditTransition } from './repository.js';

export interface EditOutput {
  url: string;
  type: string;
  width?: number;
  height?: number;
  format?: string;
}

/** The edit as our API shows it. Tests and client tools are written against these names. */
export function toEditResource(edit: Edit, history?: EditTransition[]) {
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
