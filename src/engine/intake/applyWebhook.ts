import type { Logger } from 'pino';
import { findModel } from '../../catalog/models.js';
import { AppError, editNotFound } from '../../errors.js';
import { isUuid } from '../../shared/ids.js';
import type { Edit } from '../../store/edits/repository.js';
import { isUpstreamDone } from '../../store/edits/status.js';
import type { PixelByteClient } from '../../upstream/client.js';
import { UpstreamError } from '../../upstream/errors.js';
import { listedOutputs, type WebhookPayload } from '../../upstream/schemas.js';
import type { EditOutput } from '../editResource.js';
import type { EditStore, EditTransitions } from '../transitions.js';
import { toUpstreamResult, type UpstreamReport } from './upstreamResult.js';

export interface WebhookIntakeDeps {
  edits: Pick<EditStore, 'findForWebhook' | 'recordWebhook'>;
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

export const invalidWebhookToken = (message = 'The webhook URL does not carry this edit’s token') => new AppError('INVALID_WEBHOOK_TOKEN', message);
const editNotSubmitted = (editId: string) => new AppError('EDIT_NOT_SUBMITTED', `Edit ${editId} was never sent to PixelByte; no job of PixelByte's can be its`);
const jobOfAnotherEdit = (jobId: string) => new AppError('JOB_OF_ANOTHER_EDIT', `Job ${jobId} belongs to another edit`);

/**
 * Records a verified PixelByte webhook and applies it to its edit. Repeats are stored once and change nothing.
 * PixelByte's signature does not cover the URL, so a genuine webhook may arrive at the wrong edit's address:
 * only a job one of this edit's own submits can have made is ever applied to it.
 */
export async function receivePixelByteWebhook(deps: WebhookIntakeDeps, webhook: VerifiedWebhook): Promise<WebhookReceipt> {
  const { editId, payload } = webhook;
  if (!isUuid(editId)) throw editNotFound(editId);
  const atOnce = webhook.tokenized ? await applyAtOnce(deps, webhook) : null;
  if (atOnce) return atOnce;

  // The edit, its submits and the job's holder in one read (one snapshot: a submit answer recorded meanwhile shows
  // in all of them or in none, and the statement that applies the result below judges the row as it is then).
  const found = await deps.edits.findForWebhook(editId, payload.jobId);
  if (!found) throw editNotFound(editId);
  const { edit, submits, jobOwnerId } = found;
  // The tokenless URL is honoured only for edits every submit of which went out before tokens existed.
  if (!webhook.tokenized && (submits.count === 0 || submits.anyTokenized)) throw invalidWebhookToken();
  // No submit of this edit ever left (it is queued, or was cancelled first), so no PixelByte job can be its.
  if (submits.count === 0) {
    deps.logger.warn({ editId, jobId: payload.jobId }, 'webhook for an edit never sent to PixelByte; refused');
    throw editNotSubmitted(editId);
  }
  if (jobOwnerId !== null && jobOwnerId !== editId) {
    deps.logger.warn({ editId, jobId: payload.jobId, ownerEditId: jobOwnerId }, 'webhook for a job another edit adopted; refused');
    throw jobOfAnotherEdit(payload.jobId);
  }

  const event = eventOf(webhook);
  // A job this edit never adopted (say, the second of a possible duplicate charge), or one none of its submits
  // can have made (they were all refused or never left), is kept as evidence of a charge, never applied.
  const foreign = edit.upstreamJobId !== null && edit.upstreamJobId !== payload.jobId;
  const unexplained = edit.upstreamJobId === null && !submits.anyUncertain;
  if (foreign || unexplained) {
    deps.logger.warn(
      { editId, jobId: payload.jobId, adoptedJobId: edit.upstreamJobId },
      'webhook for an upstream job this edit did not adopt; stored, not applied',
    );
  }
  // Fetch what the webhook leaves out before storing anything: if PixelByte can't tell us now, our
  // non-2xx makes it deliver again later, and nothing half-applied is left behind.
  const result = isUpstreamDone(edit.status) || foreign || unexplained ? null : toUpstreamResult(await reportOf(deps, edit, payload));
  if (!result) return { received: true, duplicate: !(await deps.edits.recordWebhook(event)), applied: false };

  // Stored and applied in one statement.
  const applied = await deps.transitions.applyUpstreamResult(editId, result, `webhook ${payload.status}`, event);
  if ('refused' in applied && applied.refused === 'job-of-another-edit') {
    // Another edit adopted the job between our read and our update, which undid the whole statement: this copy is
    // stored on its own, as evidence.
    await deps.edits.recordWebhook(event);
    deps.logger.warn({ editId, jobId: payload.jobId }, 'webhook for a job another edit adopted meanwhile; stored, not applied');
    throw jobOfAnotherEdit(payload.jobId);
  }
  return { received: true, duplicate: !applied.webhookStored, applied: applied.moved };
}

/**
 * The common webhook in one statement, with no read before it: one whose job the edit holds, or may adopt (the
 * statement checks it on the locked row, as below), and that carries all it reports (a completion names its image,
 * and the edit asked for one). It is applied, and stored, only if the edit moves. Null for anything else (a repeat,
 * a job that is not the edit's, an edit that made several images, a tokenless URL): the long way reads the edit and
 * says why; nothing was written.
 */
async function applyAtOnce(deps: WebhookIntakeDeps, webhook: VerifiedWebhook): Promise<WebhookReceipt | null> {
  const { payload } = webhook;
  const { status } = payload;
  const named = payload.status === 'completed' ? imageNamedBy(payload) : null;
  const result = toUpstreamResult(reportWith(payload, named ? [named] : []));
  if (!result) return null;
  const applied = await deps.transitions.applyUpstreamResult(webhook.editId, result, `webhook ${status}`, eventOf(webhook), {
    oneImageOrdered: status === 'completed',
    ifMoved: true,
  });
  return applied.moved ? { received: true, duplicate: !applied.webhookStored, applied: true } : null;
}

const eventOf = ({ editId, payload, rawBody, signedAt }: VerifiedWebhook) => ({
  editId,
  upstreamJobId: payload.jobId,
  status: payload.status,
  rawBody,
  signedAt,
});

/** The webhook as PixelByte's report of its job, with every output of a completed one. */
async function reportOf(deps: WebhookIntakeDeps, edit: Edit, payload: WebhookPayload): Promise<UpstreamReport> {
  if (payload.status !== 'completed') return reportWith(payload, []);
  return reportWith(payload, heldByWebhook(edit, payload) ?? (await fetchAllOutputs(deps, payload)));
}

/** The webhook as PixelByte's report of its job, `outputs` being a completed job's. */
function reportWith(payload: WebhookPayload, outputs: EditOutput[]): UpstreamReport {
  const { jobId, status, completedAt } = payload;
  return { jobId, status, completedAt, outputs, error: payload.status === 'failed' ? payload.error : undefined };
}

/**
 * The webhook names one image: for an edit that asked for one, that is every output, and PixelByte need not be
 * asked. Null when the edit may have made more (or the webhook names none): then the job's `outputs` are fetched.
 */
function heldByWebhook(edit: Edit, payload: Extract<WebhookPayload, { status: 'completed' }>): EditOutput[] | null {
  const named = imageNamedBy(payload);
  return named && imagesOrdered(edit) === 1 ? [named] : null;
}

function imageNamedBy(payload: Extract<WebhookPayload, { status: 'completed' }>): EditOutput | null {
  const url = payload.output?.imageUrl;
  return url ? { url, type: 'image', ...sizeOf(payload) } : null;
}

/**
 * How many images the edit asked for, as its model's price rule counted them when it was accepted. Edits accepted
 * before that was recorded are counted now: a per-image rule prices `num_images`, a per-request model makes one
 * image. Undefined when the model or the stored input is not one we can read.
 */
function imagesOrdered(edit: Edit): number | undefined {
  if (edit.imagesOrdered !== null) return edit.imagesOrdered;
  const model = findModel(edit.model);
  if (!model || typeof edit.input !== 'object' || edit.input === null || Array.isArray(edit.input)) return undefined;
  try {
    return model.pricing.price(edit.input).quantity;
  } catch {
    return undefined;
  }
}

/** Every image of one job is generated at the job's one size, so the webhook's metadata holds for all. */
function sizeOf(payload: Extract<WebhookPayload, { status: 'completed' }>): Omit<EditOutput, 'url' | 'type'> {
  const meta = payload.output?.metadata ?? {};
  return {
    ...(meta.width !== undefined ? { width: meta.width } : {}),
    ...(meta.height !== undefined ? { height: meta.height } : {}),
    ...(meta.format !== undefined ? { format: meta.format } : {}),
  };
}

/** The webhook names one image; an edit may have made four. The job's `outputs` lists them all. */
async function fetchAllOutputs(deps: WebhookIntakeDeps, payload: Extract<WebhookPayload, { status: 'completed' }>): Promise<EditOutput[]> {
  let job;
  try {
    job = await deps.pixelbyte.getJob(payload.jobId);
  } catch (err) {
    const detail = err instanceof UpstreamError ? err.code : 'UPSTREAM_ERROR';
    deps.logger.warn({ err, jobId: payload.jobId }, 'could not fetch the outputs of a completed job');
    throw new AppError('UPSTREAM_UNAVAILABLE', `Could not fetch the outputs of ${payload.jobId} from PixelByte (${detail}); deliver again later`);
  }
  const listed = listedOutputs(job);
  if (job.status !== 'completed' || listed.length === 0) {
    throw new AppError('UPSTREAM_NOT_READY', `PixelByte does not list the outputs of ${payload.jobId} yet; deliver again later`);
  }
  return listed.map((o) => ({ url: o.url, type: o.type, ...sizeOf(payload) }));
}
