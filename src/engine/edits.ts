import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError, editNotFound, invalidInput } from '../errors.js';
import type { CallbackAttempt, CallbackDelivery, Edit, Prisma } from '../generated/prisma/client.js';
import { isUuid } from '../shared/ids.js';
import type { QueueLimits } from '../store/edits/onCreate/queueLimit.js';
import { type ChangePosition, isUniqueViolation, type NewEdit, type NewIdempotencyKey } from '../store/edits/repository.js';
import { type EditStatus, isAtUpstream } from '../store/edits/status.js';
import type { PixelByteClient } from '../upstream/client.js';
import { UpstreamError } from '../upstream/errors.js';
import { parseEditRequest } from './accept/editRequest.js';
import { requestHash } from './accept/requestHash.js';
import { type EditIncludes, toCallbackDeliveryView, toSubmitAttemptView } from './editExtras.js';
import { type AdminEditResource, type CallbackState, type EditResource, toEditResource } from './editResource.js';
import { decodeCursor, encodeCursor } from './schemas/cursor.js';
import { adminListEditsQuery, issuesToDetails, listEditsQuery } from './schemas/edits.js';
import type { EditStore, EditTransitions } from './transitions.js';
import { type InlineImageDeps, readInlineImages, uploadInlineImages } from './uploads/inlineImages.js';
import { resolveUploads, type UploadResolverDeps } from './uploads/references.js';
import { type ClientEventsRead, readClientEvents } from './watch/clientEvents.js';

/** Where an edit's callback delivery is read from, to show it on the edit (and, asked for, every attempt). */
export interface CallbackStates {
  findByEdit(editId: string): Promise<CallbackState | null>;
  findByEdits(editIds: string[]): Promise<Map<string, CallbackState>>;
  findAllByEdit(editId: string): Promise<CallbackDelivery[]>;
  attempts(deliveryId: string): Promise<CallbackAttempt[]>;
}

export interface EditServiceDeps {
  edits: EditStore;
  transitions: EditTransitions;
  /** Puts the edit on the submit queue. May fail (Redis down): the edit is already durable and the sweeper retries. */
  enqueueSubmit(editId: string): Promise<void>;
  /** Takes a cancelled edit's job off the queue; best effort, since the worker re-checks the status anyway. */
  dequeueSubmit(editId: string): Promise<void>;
  pixelbyte: Pick<PixelByteClient, 'cancelJob'>;
  idempotencyTtlHours: number;
  /** MAX_QUEUED_EDITS: edits waiting across every client, or null for no limit. */
  maxQueuedEdits: number | null;
  logger: Logger;
  /** Callback deliveries, shown on every edit this service returns. */
  callbacks: CallbackStates;
  /** Throws CALLBACKS_DISABLED or INVALID_CALLBACK_URL for a callbackUrl that must not be stored. */
  vetCallbackUrl(url: string): Promise<void>;
  /** Where the uploads an input names (`upload:<id>`) are looked up. */
  uploads: UploadResolverDeps;
  /** Where an input's data: URLs are uploaded, and how large they may be. */
  inlineImages: InlineImageDeps;
  /** With a storage bucket: each stored output's `mirror.url`, a presigned GET made on every read. */
  signOutputs?: <T extends EditResource>(resource: T) => Promise<T>;
}

/** One status change of an edit: its history row's id, global and only growing, is an event stream's sequence. */
export interface StatusChange {
  id: bigint;
  to: EditStatus;
  at: Date;
}

export interface AcceptResult {
  status: number;
  body: unknown;
  /** True when an Idempotency-Key matched an earlier request and this is its stored response. */
  replayed: boolean;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function notCancellable(status: string, upstreamCode?: string) {
  return new AppError('EDIT_NOT_CANCELLABLE', `An edit that is ${status} cannot be cancelled`, { status, ...(upstreamCode ? { upstreamCode } : {}) });
}

export class EditService {
  constructor(private readonly deps: EditServiceDeps) {}

  /** `client.maxQueued`: how many of its edits may wait at once (null: no limit of its own). */
  async accept(body: unknown, clientId: string, idempotencyKey?: string, client: { maxQueued: number | null } = { maxQueued: null }): Promise<AcceptResult> {
    const { model, input, callbackUrl, metadata, price, priority, deadlineAt } = parseEditRequest(body);
    const limits = { clientMaxQueued: client.maxQueued, serverMaxQueued: this.deps.maxQueuedEdits };
    const slug = model.slug;
    if (callbackUrl !== undefined) await this.deps.vetCallbackUrl(callbackUrl);
    // Judged here, with nothing read or sent: an edit whose data: URLs are refused costs no upload.
    const inline = readInlineImages(this.deps.inlineImages, input);
    // What is stored: the input with each data: URL uploaded and named upload:<id> in its place.
    const prepare = async (): Promise<NewEdit> => {
      await this.checkUploads(input, clientId);
      const stored = await uploadInlineImages(this.deps.inlineImages, clientId, input, inline);
      return {
        id: randomUUID(),
        model: slug,
        input: stored as Prisma.InputJsonValue,
        callbackUrl,
        metadata: metadata as Prisma.InputJsonValue | undefined,
        clientId,
        estimatedCostMicroCents: price.totalMicroCents,
        imagesOrdered: price.quantity,
        priority,
        deadlineAt,
      };
    };

    if (idempotencyKey === undefined) return { status: 202, body: await this.store(await prepare(), undefined, limits), replayed: false };
    if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new AppError('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1–255 visible ASCII characters');
    }
    // The request as sent, data: URLs and all: a repeat of it is a replay, though its images were stored as uploads.
    // The deadline as asked (not as computed from expiresInSeconds): a repeat of the request is the same request.
    const { priority: askedPriority, deadline, expiresInSeconds } = body as { priority?: string; deadline?: string; expiresInSeconds?: number };
    const hash = requestHash({ model: slug, input, callbackUrl, metadata, priority: askedPriority, deadline, expiresInSeconds });
    // After a replay is looked for: a repeat is answered as the first request was, even once its uploads are gone,
    // and uploads nothing.
    let edit: NewEdit | undefined;
    for (;;) {
      const existing = await this.deps.edits.findIdempotencyKey(clientId, idempotencyKey);
      if (existing) {
        if (existing.requestHash !== hash) {
          throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request body', { editId: existing.editId });
        }
        return { status: existing.responseStatus, body: existing.responseBody, replayed: true };
      }
      edit ??= await prepare();
      try {
        const expiresAt = new Date(Date.now() + this.deps.idempotencyTtlHours * 3_600_000);
        return { status: 202, body: await this.store(edit, { clientId, key: idempotencyKey, requestHash: hash, expiresAt }, limits), replayed: false };
      } catch (err) {
        // A concurrent request with the same key won the insert; its row is committed now, so read it (the uploads
        // this one made of its data: URLs are left unused).
        if (!isUniqueViolation(err)) throw err;
      }
    }
  }

  /** The uploads the input names are the client's, and will outlive the submit (submitEdit checks again then). */
  private async checkUploads(input: Record<string, unknown>, clientId: string): Promise<void> {
    const uploads = await resolveUploads(this.deps.uploads, clientId, input);
    if (uploads.kind === 'resolved') return;
    const details = uploads.problems.map(({ path, message }) => ({ path, message }));
    const unknown = uploads.problems.find((p) => p.code === 'UNKNOWN_UPLOAD');
    if (unknown) throw new AppError('UNKNOWN_UPLOAD', `${unknown.path} ${unknown.message}`, details);
    const expired = uploads.problems[0]!;
    throw new AppError('UPLOAD_EXPIRED', `${expired.path} ${expired.message}`, details);
  }

  private async store(edit: NewEdit, idempotency: Omit<NewIdempotencyKey, 'respond'> | undefined, limits: QueueLimits): Promise<EditResource> {
    const created = await this.deps.edits.create(
      edit,
      idempotency && { ...idempotency, respond: (e) => toEditResource(e) as unknown as Prisma.InputJsonValue },
      limits,
    );
    // The edit is durable already, so the answer does not wait for Redis (a round trip of its own, and up to the
    // enqueue's deadline when Redis is slow). Should the enqueue be lost, the sweeper enqueues every queued edit
    // that has no job.
    this.deps.enqueueSubmit(created.id).catch((err: unknown) => {
      this.deps.logger.warn({ err, editId: created.id }, 'enqueue failed; the sweeper will pick the edit up');
    });
    return toEditResource(created);
  }

  /**
   * A queued edit is cancelled here; one PixelByte holds is cancelled there while it is still pending
   * (PixelByte refunds it). Anything else answers 409 with the current status.
   */
  async cancel(id: string, clientId: string): Promise<EditResource> {
    const edit = isUuid(id) ? await this.deps.edits.findOwned(id, clientId) : null;
    if (!edit) throw editNotFound(id);

    if (edit.status === 'queued') {
      const result = await this.deps.transitions.transition(id, 'cancelled', {
        cause: 'cancelled by the client before submit',
        data: { completedAt: new Date() },
      });
      if (result.moved) {
        await this.deps.dequeueSubmit(id).catch((err) => this.deps.logger.warn({ err, editId: id }, 'could not remove the cancelled edit from the queue'));
        return this.shown(toEditResource(result.edit, undefined, await this.deps.callbacks.findByEdit(id)));
      }
      return this.cancel(id, clientId); // a worker claimed it meanwhile: answer for its new status
    }

    if (isAtUpstream(edit.status) && edit.upstreamJobId) {
      let refund;
      try {
        refund = await this.deps.pixelbyte.cancelJob(edit.upstreamJobId);
      } catch (err) {
        if (err instanceof UpstreamError && err.kind === 'rejected' && !err.retryable) throw notCancellable(edit.status, err.code);
        throw new AppError('UPSTREAM_UNAVAILABLE', 'PixelByte could not be asked to cancel the job; try again', undefined, { 'retry-after': '5' });
      }
      const result = await this.deps.transitions.transition(id, 'cancelled', {
        cause: `cancelled upstream (job ${edit.upstreamJobId})`,
        data: { upstreamStatus: 'cancelled', refundedMicroCents: refund.refundedMicroCents ?? null, completedAt: new Date() },
      });
      if (result.moved) return this.shown(toEditResource(result.edit, undefined, await this.deps.callbacks.findByEdit(id)));
      // A status poll (or webhook) saw PixelByte's cancellation before its answer reached us: the client's
      // cancel did happen, and only this answer tells the refund, so it is recorded on the edit all the same.
      if (result.edit?.status === 'cancelled' && result.edit.upstreamJobId === edit.upstreamJobId) {
        const refunded = refund.refundedMicroCents;
        const where = { status: 'cancelled' as const, upstreamJobId: edit.upstreamJobId, refundedMicroCents: null };
        if (refunded != null && (await this.deps.edits.updateFieldsIf(id, where, { refundedMicroCents: refunded }))) {
          await this.deps.edits.note(id, 'cancelled', `PixelByte refunded ${refunded} micro-cents for cancelled job ${edit.upstreamJobId}`);
        }
        return this.get(id, clientId);
      }
      throw notCancellable(result.edit?.status ?? edit.status);
    }

    throw notCancellable(edit.status);
  }

  /** Another client's edit is answered as one that does not exist. */
  async get(id: string, clientId: string, options: EditIncludes = {}): Promise<EditResource> {
    const edit = isUuid(id) ? await this.deps.edits.findOwned(id, clientId) : null;
    if (!edit) throw editNotFound(id);
    return this.detailed(edit, options);
  }

  /** Any client's edit, with the client it belongs to: the admin API's read. */
  async getAsAdmin(id: string, options: EditIncludes = {}): Promise<AdminEditResource> {
    const edit = isUuid(id) ? await this.deps.edits.findById(id) : null;
    if (!edit) throw editNotFound(id);
    return { ...(await this.detailed(edit, options)), clientId: edit.clientId };
  }

  private async detailed(edit: Edit, options: EditIncludes): Promise<EditResource> {
    const [history, callback, attempts, deliveries, queuePosition] = await Promise.all([
      options.includeHistory ? this.deps.edits.history(edit.id) : undefined,
      this.deps.callbacks.findByEdit(edit.id),
      options.includeAttempts ? this.deps.edits.submitAttempts(edit.id) : undefined,
      options.includeDeliveries ? this.deliveriesOf(edit.id) : undefined,
      edit.status === 'queued' ? this.deps.edits.queuePosition(edit) : undefined,
    ]);
    const resource = toEditResource(edit, history, callback);
    if (attempts) resource.attempts = attempts.map(toSubmitAttemptView);
    if (deliveries) resource.deliveries = deliveries;
    if (queuePosition !== undefined) resource.queuePosition = queuePosition;
    return this.shown(resource);
  }

  private async deliveriesOf(editId: string) {
    const deliveries = await this.deps.callbacks.findAllByEdit(editId);
    return Promise.all(deliveries.map(async (d) => toCallbackDeliveryView(d, await this.deps.callbacks.attempts(d.id))));
  }

  /** The edit as a client is shown it: with a bucket, each stored output's link signed now. */
  private shown(resource: EditResource): Promise<EditResource> {
    return this.deps.signOutputs ? this.deps.signOutputs(resource) : Promise.resolve(resource);
  }

  /**
   * The edit as `get` shows it, with its status changes (notes, which change no status, left out) in order: what a
   * wait or an event stream reads. The history is read first, so the edit is at least as new as every change listed.
   */
  async watchState(id: string, clientId: string): Promise<{ edit: EditResource; changes: StatusChange[] }> {
    if (!isUuid(id)) throw editNotFound(id);
    const history = await this.deps.edits.history(id);
    const edit = await this.get(id, clientId);
    const changes = history.filter((h) => h.fromStatus !== h.toStatus).map((h) => ({ id: h.id, to: h.toStatus, at: h.at }));
    return { edit, changes };
  }

  /**
   * The client's status changes after `from`, across all its edits, as GET /v1/events sends them (undefined: a new
   * stream, which starts with what changes from now on). See watch/clientEvents.ts for their order.
   */
  clientEvents(clientId: string, from: ChangePosition | undefined): Promise<ClientEventsRead> {
    return readClientEvents({ edits: this.deps.edits, callbacks: this.deps.callbacks }, clientId, from);
  }

  async list(query: unknown, clientId: string): Promise<{ edits: EditResource[]; nextCursor: string | null }> {
    const parsed = listEditsQuery.safeParse(query);
    if (!parsed.success) throw invalidInput('The query is invalid', issuesToDetails(parsed.error));
    const page = await this.page({ ...parsed.data, clientId });
    return {
      edits: await Promise.all(page.edits.map(({ edit, callback }) => this.shown(toEditResource(edit, undefined, callback)))),
      nextCursor: page.nextCursor,
    };
  }

  /** Every client's edits (or, with `clientId`, one client's), each with its client: the admin API's list. */
  async listAsAdmin(query: unknown): Promise<{ edits: AdminEditResource[]; nextCursor: string | null }> {
    const parsed = adminListEditsQuery.safeParse(query);
    if (!parsed.success) throw invalidInput('The query is invalid', issuesToDetails(parsed.error));
    const page = await this.page({ ...parsed.data, clientId: parsed.data.clientId ?? null });
    return {
      edits: await Promise.all(
        page.edits.map(async ({ edit, callback }) => ({ ...(await this.shown(toEditResource(edit, undefined, callback))), clientId: edit.clientId })),
      ),
      nextCursor: page.nextCursor,
    };
  }

  private async page(query: { clientId: string | null; status?: EditStatus; model?: string; limit: number; cursor?: string }) {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (after === null) throw invalidInput('The cursor is invalid', [{ path: 'cursor', message: 'is not a cursor this API returned' }]);
    const page = await this.deps.edits.list({ clientId: query.clientId, status: query.status, model: query.model, limit: query.limit, after });
    const last = page.edits.at(-1);
    const callbacks = await this.deps.callbacks.findByEdits(page.edits.map((e) => e.id));
    return {
      edits: page.edits.map((edit) => ({ edit, callback: callbacks.get(edit.id) })),
      nextCursor: page.hasMore && last ? encodeCursor(last) : null,
    };
  }
}
