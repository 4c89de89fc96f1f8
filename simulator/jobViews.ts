import type { SimJob } from './types.js';

/** A job in PixelByte's response and webhook shapes. `baseUrl` is where the simulator serves outputs. */

export function progressOf(job: SimJob): number {
  if (job.status === 'processing') return 50;
  if (job.status === 'completed' || job.status === 'failed') return 100;
  return 0;
}

export function outputsOf(job: SimJob, baseUrl: string) {
  if (job.status !== 'completed') return [];
  return Array.from({ length: job.outputCount }, (_, i) => ({
    url: `${baseUrl}/outputs/${job.jobId}-${i}.png`,
    type: 'image' as const,
    thumbnail: `${baseUrl}/outputs/${job.jobId}-${i}-thumb.png`,
    posterImage: null,
  }));
}

export function jobView(job: SimJob, baseUrl: string) {
  const outputs = outputsOf(job, baseUrl);
  return {
    jobId: job.jobId,
    status: job.status,
    progress: progressOf(job),
    output: outputs[0]?.url ?? null,
    outputs,
    error: job.error,
    createdAt: job.createdAt.toISOString(),
    completedAt: job.completedAt?.toISOString() ?? null,
  };
}

export function listItemView(job: SimJob) {
  return {
    jobId: job.jobId,
    status: job.status,
    progress: progressOf(job),
    model: job.model,
    createdAt: job.createdAt.toISOString(),
    completedAt: job.completedAt?.toISOString() ?? null,
  };
}

export function submitView(job: SimJob, estimatedCompletionTime: Date) {
  return {
    jobId: job.jobId,
    requestId: job.requestId,
    // Always 'pending' as PixelByte answers, even when an 'early' job has already finished.
    status: 'pending' as const,
    estimatedCompletionTime: estimatedCompletionTime.toISOString(),
    costMicroCents: job.costMicroCents,
  };
}

/** The terminal webhook, with keys in the documented order. Only completed and failed jobs have one. */
export function webhookBody(job: SimJob, baseUrl: string): object {
  const completedAt = (job.completedAt ?? new Date()).toISOString();
  if (job.status === 'failed') {
    return { jobId: job.jobId, requestId: job.requestId, status: 'failed', error: job.error, completedAt };
  }
  return {
    jobId: job.jobId,
    requestId: job.requestId,
    status: 'completed',
    output: {
      imageUrl: outputsOf(job, baseUrl)[0]?.url ?? null,
      metadata: { width: job.width, height: job.height, format: 'png' },
    },
    completedAt,
  };
}
