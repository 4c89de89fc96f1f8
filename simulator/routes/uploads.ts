import { createHash } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { apiKeyOf, requireApiKey } from '../auth.js';
import type { SimulatorContext } from '../context.js';
import { errorBody, SimError } from '../errors.js';
import { issuesOf } from '../submit.js';
import { ASSETS_PATH, fileUrlOf, IMAGE_CONTENT_TYPES, IMAGE_MAX_BYTES, type SimUpload } from '../uploadStore.js';

/**
 * PixelByte's uploads: `POST /v1/uploads/presign` hands out a PUT target and the URL the file will have, the PUT
 * goes to storage (`files.muvi.video` for real; here `/storage/uploads/{fileId}`), and the file is then served
 * from the CDN (`assetsv1.cdn.muvi.video`; here `/assets/uploads/{fileId}/{filename}`) until it is deleted, 60
 * minutes after the upload. PixelByte documents the presign's errors; its storage's answers are not documented,
 * so they come in PixelByte's error shape with codes of the simulator's own.
 */

const presignBody = z.strictObject({
  filename: z
    .string({ error: 'is required' })
    .min(1, 'must not be empty')
    .max(255, 'must be at most 255 characters')
    .refine((name) => !/[\p{Cc}/\\]/u.test(name), 'must not contain control characters or path separators'),
  contentType: z.string({ error: 'is required' }).min(1, 'must not be empty'),
});

const STORAGE_PATH = '/storage/uploads';

/** `pending` while the file can still be PUT or read; `expired` once the PUT window closed unused or the file was deleted. */
function statusOf(upload: SimUpload, now: Date): 'pending' | 'expired' {
  if (upload.uploadedAt) return upload.bytes && upload.deletesAt && now < upload.deletesAt ? 'pending' : 'expired';
  return now < upload.uploadBy ? 'pending' : 'expired';
}

/** The storage's refusal of a PUT: PixelByte's error shape, since its storage's own is not documented. */
const storageError = (status: number, code: string, message: string) => new SimError(status, code, message);

export function uploadRoutes(ctx: SimulatorContext) {
  const switches = () => ctx.faults.switches;
  const urlTtlMs = () => switches().uploadUrlTtlMs ?? ctx.options.uploadUrlTtlMs;
  const lifeMs = () => switches().uploadLifeMs ?? ctx.options.uploadLifeMs;
  const wrapped = (request: FastifyRequest, data: object) => ({ success: true, data, requestId: request.id });

  return async function routes(app: FastifyInstance): Promise<void> {
    app.register(
      async (v1) => {
        requireApiKey(v1, ctx.options.apiKeys);

        v1.post('/uploads/presign', async (request) => {
          const apiKey = apiKeyOf(request);
          const parsed = presignBody.safeParse(request.body ?? {});
          if (!parsed.success) throw new SimError(400, 'VALIDATION_ERROR', 'Request body is invalid', { issues: issuesOf(parsed.error) });
          const { filename, contentType } = parsed.data;
          if (!(IMAGE_CONTENT_TYPES as readonly string[]).includes(contentType)) {
            throw new SimError(400, 'INVALID_CONTENT_TYPE', `Content type ${contentType} is not allowed`, { allowed: IMAGE_CONTENT_TYPES });
          }
          const upload = ctx.uploads.presign({ apiKey, filename, contentType, urlTtlMs: urlTtlMs() });
          const base = ctx.baseUrl();
          return wrapped(request, {
            uploadUrl: `${base}${STORAGE_PATH}/${upload.fileId}?token=${upload.token}`,
            fileUrl: fileUrlOf(upload, base),
            fileId: upload.fileId,
            expiresAt: upload.uploadBy.toISOString(),
            maxSize: IMAGE_MAX_BYTES,
          });
        });

        v1.get<{ Params: { id: string } }>('/uploads/:id', async (request) => {
          const upload = ctx.uploads.find(apiKeyOf(request), request.params.id);
          if (!upload) throw new SimError(404, 'NOT_FOUND', `Upload ${request.params.id} not found`);
          const now = new Date();
          return wrapped(request, {
            id: upload.fileId,
            filename: upload.filename,
            contentType: upload.contentType,
            fileUrl: fileUrlOf(upload, ctx.baseUrl()),
            status: statusOf(upload, now),
            createdAt: upload.createdAt.toISOString(),
            // Until the PUT, when its window closes; after it, when the file is deleted.
            expiresAt: (upload.deletesAt ?? upload.uploadBy).toISOString(),
          });
        });
      },
      { prefix: '/v1' },
    );

    // The storage the PUT goes to and the CDN that serves the file: no API key, the URLs are the credentials.
    app.register(async (files) => {
      // Any body is bytes: the presigned content type is checked against the header, not by a parser's choice.
      files.removeAllContentTypeParsers();
      files.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: IMAGE_MAX_BYTES }, (_request, body, done) => done(null, body));
      files.setErrorHandler((err: FastifyError | SimError, request, reply) => {
        const known =
          err instanceof SimError
            ? err
            : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
              ? storageError(413, 'FILE_TOO_LARGE', `The file is larger than ${IMAGE_MAX_BYTES} bytes`)
              : storageError(err.statusCode && err.statusCode < 500 ? err.statusCode : 500, 'STORAGE_ERROR', err.message);
        return reply.code(known.statusCode).send(errorBody(known, request.id));
      });

      files.put<{ Params: { fileId: string }; Querystring: { token?: string } }>(`${STORAGE_PATH}/:fileId`, async (request, reply) => {
        const upload = ctx.uploads.uploads.get(request.params.fileId);
        if (!upload || request.query.token !== upload.token) throw storageError(403, 'SIGNATURE_MISMATCH', 'The upload URL is not valid');
        const now = new Date();
        if (now >= upload.uploadBy) throw storageError(403, 'UPLOAD_URL_EXPIRED', 'The upload URL has expired; presign again');
        // A presigned URL signs its content type: a PUT of another is refused, as storage refuses a broken signature.
        const sentType = request.headers['content-type'];
        if (sentType !== upload.contentType) {
          throw storageError(403, 'CONTENT_TYPE_MISMATCH', `The upload URL was signed for ${upload.contentType}, not ${sentType ?? 'no content type'}`);
        }
        const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const life = lifeMs();
        ctx.uploads.store(upload, bytes, life, now);
        // A PUT again within the window starts a new life: only the latest one deletes. A timer may fire a moment
        // before the wall clock reaches `deletesAt` (timers run on the monotonic clock): it then waits the rest.
        const deleteWhenDue = () => {
          const left = (upload.deletesAt?.getTime() ?? Number.POSITIVE_INFINITY) - Date.now();
          if (left <= 0) ctx.uploads.delete(upload);
          else if (upload.deletesAt?.getTime() === deletesAt) ctx.timers.after(left, deleteWhenDue);
        };
        const deletesAt = upload.deletesAt?.getTime();
        ctx.timers.after(life, deleteWhenDue);
        return reply
          .code(200)
          .header('etag', `"${createHash('md5').update(bytes).digest('hex')}"`)
          .send();
      });

      files.get<{ Params: { fileId: string; name: string } }>(`${ASSETS_PATH}/:fileId/:name`, async (request, reply) => {
        const upload = ctx.uploads.readable(request.params.fileId);
        if (!upload || upload.filename !== request.params.name) throw new SimError(404, 'NOT_FOUND', 'No such file');
        return reply.type(upload.contentType).send(upload.bytes);
      });
    });
  };
}
