import type { UpstreamJobStatus } from '../../upstream/schemas.js';
import type { EditOutput } from '../editResource.js';

/** What PixelByte says became of a job, whether we heard it from a webhook or asked for it. */
export type UpstreamResult =
  | { jobId: string; status: 'processing' }
  | { jobId: string; status: 'completed'; outputs: EditOutput[]; completedAt?: Date }
  | { jobId: string; status: 'failed'; code: string; message: string; completedAt?: Date }
  | { jobId: string; status: 'cancelled'; completedAt?: Date };

/** A job as PixelByte reported it: its GET answer, or a webhook together with the outputs fetched for it. */
export interface UpstreamReport {
  jobId: string;
  status: UpstreamJobStatus;
  outputs: EditOutput[];
  error?: { code: string; message?: string } | null;
  completedAt?: string | null;
}

/** PixelByte's error code when it reports a failure without one. */
const DEFAULT_FAILURE_CODE = 'GENERATION_FAILED';

/**
 * The one reading of what PixelByte reports, for polls and webhooks alike. Null when there is nothing to
 * apply yet: the job is pending, or completed but not listing its outputs.
 */
export function toUpstreamResult(report: UpstreamReport): UpstreamResult | null {
  const { jobId } = report;
  const completedAt = upstreamDate(report.completedAt);
  switch (report.status) {
    case 'pending':
      return null;
    case 'processing':
      return { jobId, status: 'processing' };
    case 'completed':
      return report.outputs.length ? { jobId, status: 'completed', outputs: report.outputs, completedAt } : null;
    case 'failed':
      return { jobId, status: 'failed', code: report.error?.code ?? DEFAULT_FAILURE_CODE, message: report.error?.message ?? '', completedAt };
    case 'cancelled':
      return { jobId, status: 'cancelled', completedAt };
  }
}

/** PixelByte's ISO timestamps, or undefined when absent or unreadable (we then use our own clock). */
export function upstreamDate(value: string | null | undefined): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
