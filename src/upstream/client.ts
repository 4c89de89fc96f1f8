import type { z } from 'zod';
import { classifyHttpError, classifyNetworkError, UpstreamError } from './errors.js';
import {
  cancelResponse,
  errorResponse,
  type JobList,
  jobListResponse,
  jobResponse,
  type SubmitResponse,
  submitResponse,
  type UpstreamJob,
  unwrap,
} from './schemas.js';

export interface PixelByteClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
}

export interface ListJobsQuery {
  limit?: number;
  cursor?: string;
  status?: string;
  modelId?: string;
}

export interface SubmitJobRequest {
  model: string;
  input: unknown;
  webhookUrl?: string;
}

/**
 * PixelByte's job API over real HTTP. Every failure comes back as an UpstreamError that says whether a
 * retry is safe (the table of answers is in errors.ts).
 */
export class PixelByteClient {
  constructor(private readonly options: PixelByteClientOptions) {}

  submitJob(request: SubmitJobRequest): Promise<SubmitResponse> {
    return this.call('POST', '/v1/jobs/submit', submitResponse, request);
  }

  getJob(jobId: string): Promise<UpstreamJob> {
    return this.call('GET', `/v1/jobs/${encodeURIComponent(jobId)}`, jobResponse);
  }

  /** One page of the account's jobs (PixelByte caps `limit` at 100). */
  listJobs(query: ListJobsQuery = {}): Promise<JobList> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const search = params.toString();
    return this.call('GET', search ? `/v1/jobs?${search}` : '/v1/jobs', jobListResponse);
  }

  cancelJob(jobId: string) {
    return this.call('POST', `/v1/jobs/${encodeURIComponent(jobId)}/cancel`, cancelResponse);
  }

  private async call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const what = `${method} ${path}`;
    let response: Response;
    try {
      response = await fetch(`${this.options.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.options.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      throw classifyNetworkError(err, what);
    }

    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      // Without the body there is no telling PixelByte's refusal from a gateway's: the outcome is unknown.
      if (!response.ok) throw classifyHttpError(what, response.status, undefined, { bodyRead: false });
      throw classifyNetworkError(err, what);
    }
    const json = parseJson(text);

    if (!response.ok) {
      const parsed = errorResponse.safeParse(json);
      throw classifyHttpError(what, response.status, parsed.success ? parsed.data.error : undefined, {
        retryAfterSeconds: (details) => retryAfterOf(details, response),
      });
    }

    const parsed = schema.safeParse(unwrap(json));
    if (!parsed.success) {
      // A 2xx we cannot read: the call may have taken effect, so the outcome is unknown, never "failed".
      throw new UpstreamError('unknown', 'UPSTREAM_BAD_RESPONSE', `${what}: unexpected response from PixelByte`, response.status);
    }
    return parsed.data;
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

const DEFAULT_RETRY_AFTER_SECONDS = 30;

function retryAfterOf(details: unknown, response: Response): number {
  const fromBody = (details as { retryAfter?: unknown } | undefined)?.retryAfter;
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) return fromBody;
  const fromHeader = Number(response.headers.get('retry-after'));
  if (Number.isFinite(fromHeader) && fromHeader > 0) return fromHeader;
  return DEFAULT_RETRY_AFTER_SECONDS;
}
