import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError, editNotFound, invalidInput } from '../errors.js';
import type { Prisma } from '../generated/prisma/client.js';
import { decodeCursor, encodeCursor, isUuid } from './cursor.js';
import { findModel, supportedModels } from './models.js';
import type { EditRepository } from './repository.js';
import { toEditResource, type EditResource } from './resource.js';
import { createEditBody, issuesToDetails, listEditsQuery } from './schemas.js';

export interface EditServiceDeps {
  edits: EditRepository;
  /** Puts the edit on the submit queue. May fail (Redis down): the edit is already durable and the sweeper retries. */
  enqueueSubmit(editId: string): Promise<void>;
  logger: Logger;
}

/** A stable, non-secret name for whoever holds a bearer token. */
export function clientIdOf(token: string): string {
  return `key_${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}

export class EditService {
  constructor(private readonly deps: EditServiceDeps) {}

  async accept(body: unknown, clientId: string): Promise<EditResource> {
    const parsed = createEditBody.safeParse(body);
    if (!parsed.success) throw invalidInput('The edit request is invalid', issuesToDetails(parsed.error));
    const { model: slug, input, callbackUrl, metadata } = parsed.data;

    const model = findModel(slug);
    if (!model) {
      throw new AppError(400, 'MODEL_NOT_SUPPORTED', `Model ${slug} is not supported`, { supportedModels: supportedModels() });
    }
    const upstreamInput = model.input.safeParse(input);
    if (!upstreamInput.success) {
      throw invalidInput(`The input is invalid for ${slug}`, issuesToDetails(upstreamInput.error, ['input']));
    }

    const edit = await this.deps.edits.create({
      id: randomUUID(),
      model: slug,
      input: upstreamInput.data as Prisma.InputJsonValue,
      callbackUrl,
      metadata: metadata as Prisma.InputJsonValue | undefined,
      clientId,
      estimatedCostMicroCents: model.priceMicroCents(upstreamInput.data),
    });
    try {
      await this.deps.enqueueSubmit(edit.id);
    } catch (err) {
      // The edit is stored as `queued`; the sweeper enqueues every queued edit that has no job.
      this.deps.logger.warn({ err, editId: edit.id }, 'enqueue failed; the sweeper will pick the edit up');
    }
    return toEditResource(edit);
  }

  async get(id: string, options: { includeHistory?: boolean } = {}): Promise<EditResource> {
    const edit = isUuid(id) ? await this.deps.edits.findById(id) : null;
    if (!edit) throw editNotFound(id);
    return toEditResource(edit, options.includeHistory ? await this.deps.edits.history(id) : undefined);
  }

  async list(query: unknown): Promise<{ edits: EditResource[]; nextCursor: string | null }> {
    const parsed = listEditsQuery.safeParse(query);
    if (!parsed.success) throw invalidInput('The query is invalid', issuesToDetails(parsed.error));
    const after = parsed.data.cursor === undefined ? undefined : decodeCursor(parsed.data.cursor);
    if (after === null) throw invalidInput('The cursor is invalid', [{ path: 'cursor', message: 'is not a cursor this API returned' }]);

    const page = await this.deps.edits.list({ status: parsed.data.status, limit: parsed.data.limit, after });
    const last = page.edits.at(-1);
    return {
      edits: page.edits.map((e) => toEditResource(e)),
      nextCursor: page.hasMore && last ? encodeCursor(last) : null,
    };
  }
}
