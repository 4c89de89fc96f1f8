import type { Logger } from 'pino';
import { AppError, editNotFound } from '../errors.js';
import { isUuid } from '../shared/ids.js';
import type { PixelByteClient } from '../upstream/client.js';
import { UpstreamError } from '../upstream/errors.js';
import { listedOutputs, type WebhookPayload } from '../upstream/schemas.js';
import type { EditOutput } from './resource.js';
import { isTerminal } from './status.js';
import type { EditStore, EditTransitions } from './transitions.js';
import { toUpstreamResult, type UpstreamReport } from './upstreamResult.js';

export interface WebhookIntakeDeps {
  edits: Pick<EditStore, 'findById' | 'findByUpstreamJobId' | 'submitAttempts' | 'recordWebhook'>;
  transitions: Pick<EditTransitions, 'applyUpstreamResult'>;
  pixelbyte: Pick<PixelByteClient, 'getJob'>;
  logger: Logger;
}

export interface VerifiedWebhook {
  editId: string;
  payload: WebhookPayload;
  rawBody: string;
  signedAt: Date;
  /** The URL carried this edit's token (checked already); false for the tokenless URL of an older release. */
  tokenized: boolean;
}

export interface WebhookReceipt {
  received: true;
  duplicate: boolean;
  applied: boolean;
}

export const invalidWebhookToken = (message = 'The webhook URL does not carry this edit’s token') => new AppError(401, 'INVALID_WEBHOOK_TOKEN', message);
const editNotSubmitted = (editId: string) =>
  new AppError(409, 'EDIT_NOT_SUBMITTED', `Edit ${editId} was never sent to PixelByte; no job of PixelByte's can be its`);
const jobOfAnotherEdit = (jobId: string) => new AppError(409, 'JOB_OF_ANOTHER_EDIT', `Job ${jobId} belongs to another edit`);

/**
 * Records a verified PixelByte webhook and applies it to its edit. Repeats are stored once and change nothing.
 * PixelByte's signature does not cover the URL, so a genuine webhook may arrive at the wrong edit's address:
 * only a job one of this edit's own submits can have made is ever applied to it.
 */
export async function receivePixelByteWebhook(deps: WebhookIntakeDeps, webhook: VerifiedWebhook): Promise<WebhookReceipt> {
  const { editId, payload } = webhook;
  let edit = isUuid(editId) ? await deps.edits.findById(editId) : null;
  if (!edit) throw editNotFound(editId);
  const attempts = await deps.edits.submitAttempts(editId);
  // The tokenless URL is honoured only for edits every submit of which went out before tokens existed.
  if (!webhook.tokenized && (attempts.length === 0 || attempts.some((a) => a.tokenizedWebhookUrl))) throw invalidWebhookToken();
  // No submit of this edit ever left (it is queued, or was cancelled first), so no PixelByte job can be its.
  if (attempts.length === 0) {
    deps.logger.warn({ editId, jobId: payload.jobId }, 'webhook for an edit never sent to PixelByte; refused');
    throw editNotSubmitted(editId);
  }
  if (edit.upstreamJobId !== payload.jobId) {
    const owner = await deps.edits.findByUpstreamJobId(payload.jobId);
    if (owner && owner.id !== editId) {
      deps.logger.warn({ editId, jobId: payload.jobId, ownerEditId: owner.id }, 'webhook for a job another edit adopted; refused');
      throw jobOfAnotherEdit(payload.jobId);
    }
    // This edit's own submit answer recorded the job after we read the edit: judge the edit as it is now.
    if (owner) edit = owner;
  }

  // A job this edit never adopted (say, the second of a possible duplicate charge), or one none of its submits
  // can have made (they were all refused or never left), is kept as evidence of a charge, never applied.
  const foreign = edit.upstreamJobId !== null && edit.upstreamJobId !== payload.jobId;
  const unexplained = edit.upstreamJobId === null && !attempts.some((a) => a.outcome === 'in_flight' || a.outcome === 'unknown');
  if (foreign || unexplained) {
    deps.logger.warn(
      { editId, jobId: payload.jobId, adoptedJobId: edit.upstreamJobId },
      'webhook for an upstream job this edit did not adopt; stored, not applied',
    );
  }
  // Fetch what the webhook leaves out before storing anything: if PixelByte can't tell us now, our
  // non-2xx makes it deliver again later, and nothing half-applied is left behind.
  const result = isTerminal(edit.status) || foreign || unexplained ? null : toUpstreamResult(await reportOf(deps, payload));

  const fresh = await deps.edits.recordWebhook({
    editId,
    upstreamJobId: payload.jobId,
    status: payload.status,
    rawBody: webhook.rawBody,
    signedAt: webhook.signedAt,
  });
  if (!result) return { received: true, duplicate: !fresh, applied: false };

  const applied = await deps.transitions.applyUpstreamResult(editId, result, `webhook ${payload.status}`);
  if ('refused' in applied && applied.refused === 'job-of-another-edit') {
    // Another edit adopted the job between our check and our update; this copy stays stored as evidence.
    deps.logger.warn({ editId, jobId: payload.jobId }, 'webhook for a job another edit adopted meanwhile; stored, not applied');
    throw jobOfAnotherEdit(payload.jobId);
  }
  return { received: true, duplicate: !fresh, applied: applied.moved };
}

/** The webhook as PixelByte's report of its job, with every output of a completed one (the webhook names only one). */
async function reportOf(deps: WebhookIntakeDeps, payload: WebhookPayload): Promise<UpstreamReport> {
  const { jobId, status, completedAt } = payload;
  if (payload.status === 'completed') return { jobId, status, completedAt, outputs: await fetchAllOutputs(deps, payload) };
  return { jobId, status, completedAt, outputs: [], error: payload.status === 'failed' ? payload.error : undefined };
}

/** The webhook names one image; an edit may have made four. The job's `outputs` lists them all. */
async function fetchAllOutputs(deps: WebhookIntakeDeps, payload: Extract<WebhookPayload, { status: 'completed' }>): Promise<EditOutput[]> {
  let job;
  try {
    job = await deps.pixelbyte.getJob(payload.jobId);
  } catch (err) {
    const detail = err instanceof UpstreamError ? err.code : 'UPSTREAM_ERROR';
    deps.logger.warn({ err, jobId: payload.jobId }, 'could not fetch the outputs of a completed job');
    throw new AppError(503, 'UPSTREAM_UNAVAILABLE', `Could not fetch the outputs of ${payload.jobId} from PixelByte (${detail}); deliver again later`);
  }
  const listed = listedOutputs(job);
  if (job.status !== 'completed' || listed.length === 0) {
    throw new AppError(503, 'UPSTREAM_NOT_READY', `PixelByte does not list the outputs of ${payload.jobId} yet; deliver again later`);
  }
  const meta = payload.output?.metadata ?? {};
  // Every image of one job is generated at the job's one size, so the webhook's metadata holds for all.
  return listed.map((o) => ({
    url: o.url,
    type: o.type,
    ...(meta.width !== undefined ? { width: meta.width } : {}),
    ...(meta.height !== undefined ? { height: meta.height } : {}),
    ...(meta.format !== undefined ? { format: meta.format } : {}),
  }));
}
