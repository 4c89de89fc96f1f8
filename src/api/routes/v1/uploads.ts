import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import multipart, { type Multipart } from '@fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IMAGE_TYPES, isImageType, mediaTypeOf } from '../../../engine/uploads/imageType.js';
import { uploadResource } from '../../../engine/uploads/uploadResource.js';
import { fileTooLarge, type ReceivedFile, type UploadService } from '../../../engine/uploads/uploadService.js';
import { AppError, errorResponses, invalidInput } from '../../../errors.js';

export interface UploadRoutesOptions {
  service: UploadService;
  /** UPLOAD_MAX_BYTES. */
  maxBytes: number;
}

/** The one part a multipart upload carries. */
const FILE_PART = 'file';

/**
 * busboy reads a part's header no further than `headerSize` and drops the rest without a word (the Content-Type
 * after a long filename among it). A filename longer than any a file system writes is such a header cut short:
 * what it said past the cut is unknown, so the part is refused rather than read as what is left of it.
 */
const PART_HEADER_BYTES = 8 * 1024;
const MAX_FILENAME_CHARS = 1024;

const binary = (description: string) => z.string().meta({ format: 'binary', description });

/** How the reference shows the body, by content type: the route reads it as a stream, so no schema validates it. */
const uploadBodies = {
  'multipart/form-data': z.strictObject({ [FILE_PART]: binary('The image: JPEG, PNG, WebP or GIF') }),
  ...Object.fromEntries(IMAGE_TYPES.map((type) => [type, binary(`The image itself, as ${type}`)])),
};

const uploadIdParams = z.object({ id: z.string() });

/**
 * The upload resource. Registered inside the /v1 scope, behind bearer auth (it reads `request.clientId`). This scope
 * takes files, not JSON: a multipart/form-data body with one part named `file`, or the image itself as the body with
 * its image type. Either way the file is read as a stream into the chunks it arrives in, counted and hashed on the way,
 * never past `maxBytes`: those chunks are the one copy of it in memory, and are what the PUT to PixelByte sends.
 */
export const uploadRoutes: FastifyPluginAsyncZod<UploadRoutesOptions> = async (app, { service, maxBytes }) => {
  app.removeAllContentTypeParsers();
  await app.register(multipart, {
    limits: multipartLimits(maxBytes),
    // The file is judged by its size here (the truncated mark), not by an error thrown from inside the stream.
    throwFileSizeLimit: false,
    // The part named `file` is the file whatever its headers say; without a filename busboy would take it for text.
    isPartAFile: (name, contentType, filename) => name === FILE_PART || filename !== undefined || contentType === 'application/octet-stream',
  });
  // Any other body is handed over unread, for the route to refuse or read as a raw image.
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.post(
    '/uploads',
    {
      schema: {
        operationId: 'createUpload',
        summary: 'Upload a source image for edits to name',
        description: `Puts a JPEG, PNG, WebP or GIF image (at most UPLOAD_MAX_BYTES, ${maxBytes} bytes here) on PixelByte's storage for your edits: name it in \`image_urls\` (or \`image_url\`) as \`upload:<id>\`. Send multipart/form-data with one part named \`file\`, or the image itself as the body with its content type. The type is read from the bytes. PixelByte deletes the file 60 minutes after the upload (\`expiresAt\`).`,
        tags: ['uploads'],
        'x-error-codes': [
          'INVALID_INPUT',
          'INVALID_MULTIPART',
          'FILE_EMPTY',
          'FILE_TOO_LARGE',
          'UNSUPPORTED_MEDIA_TYPE',
          'REQUEST_ABORTED',
          'UPSTREAM_UNAVAILABLE',
          'DATABASE_UNAVAILABLE',
        ],
        'x-returns': 'The upload (`Location: /v1/uploads/{id}`)',
        'x-body-content': uploadBodies,
        response: { 201: uploadResource, ...errorResponses },
      },
    },
    async (request, reply) => {
      let file: ReceivedFile;
      try {
        file = await receiveFile(request, reply, maxBytes);
      } catch (err) {
        if (err instanceof AppError) service.countRefusal('request', err.code);
        throw err;
      }
      const upload = await service.accept(file, request.clientId);
      return reply.status(201).header('location', `${app.prefix}/uploads/${upload.id}`).send(upload);
    },
  );

  app.get(
    '/uploads/:id',
    {
      schema: {
        operationId: 'getUpload',
        summary: 'Read an upload',
        tags: ['uploads'],
        'x-error-codes': ['INVALID_INPUT', 'UPLOAD_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The upload',
        params: uploadIdParams,
        querystring: z.strictObject({}),
        response: { 200: uploadResource, ...errorResponses },
      },
    },
    async (request) => service.get(request.params.id, request.clientId),
  );
};

/**
 * busboy's limits, which @fastify/multipart hands on as given (its types leave `headerSize` out). One byte more than
 * allowed is enough to know a file is too large: busboy stops there and marks it truncated. The rest bound what a
 * multipart bomb can make it hold: a few parts, short headers, no more than 20 header lines a part.
 */
function multipartLimits(maxBytes: number) {
  return { fileSize: maxBytes, files: 2, fields: 4, fieldSize: 1024, fieldNameSize: 100, parts: 8, headerPairs: 20, headerSize: PART_HEADER_BYTES };
}

/** The file of an upload request, read whole and no further than `maxBytes`; or the refusal, with its code. */
async function receiveFile(request: FastifyRequest, reply: FastifyReply, maxBytes: number): Promise<ReceivedFile> {
  try {
    return request.isMultipart() ? await receiveMultipart(request, maxBytes) : await receiveRaw(request, maxBytes);
  } catch (err) {
    // What is left of a refused body is not read: the connection goes with the answer instead of draining it.
    if (!request.raw.complete) void reply.header('connection', 'close');
    throw err;
  }
}

async function receiveRaw(request: FastifyRequest, maxBytes: number): Promise<ReceivedFile> {
  const declared = request.headers['content-type'];
  const mediaType = declared === undefined ? undefined : mediaTypeOf(declared);
  if (!mediaType || !isImageType(mediaType)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send multipart/form-data with a part named file, or the image as the body with its content type', {
      accepted: ['multipart/form-data', ...IMAGE_TYPES],
    });
  }
  // Said too large by its own length: not a byte of it is read.
  if (Number(request.headers['content-length']) > maxBytes) throw fileTooLarge(maxBytes);
  const held = await hold(request.body as Readable, maxBytes);
  if (held === 'too-large') throw fileTooLarge(maxBytes);
  return { ...held, declaredType: declared };
}

async function receiveMultipart(request: FastifyRequest, maxBytes: number): Promise<ReceivedFile> {
  let received: ReceivedFile | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file' || part.fieldname !== FILE_PART) {
        refuse(part);
        throw invalidInput('The upload takes one part, named file', [
          { path: part.fieldname, message: `is not a part this route takes: send the image as the part named ${FILE_PART}` },
        ]);
      }
      if (received) {
        refuse(part);
        throw invalidInput('The upload takes one file', [{ path: FILE_PART, message: 'was sent more than once: send one file per upload' }]);
      }
      if ((part.filename?.length ?? 0) > MAX_FILENAME_CHARS) {
        refuse(part);
        throw new AppError('INVALID_MULTIPART', 'The multipart/form-data body cannot be read', {
          reason: `the file part's header is longer than this server reads (${PART_HEADER_BYTES} bytes)`,
        });
      }
      const held = await hold(part.file, maxBytes);
      // busboy stops a file at the limit and marks it: what arrived is its first maxBytes, never a whole file.
      if (held === 'too-large' || part.file.truncated) throw fileTooLarge(maxBytes);
      // busboy says text/plain of a part that names no type, and cannot say which it was: text/plain declares nothing.
      received = { ...held, declaredType: part.mimetype === 'text/plain' ? undefined : part.mimetype };
    }
  } catch (err) {
    if (err instanceof AppError || request.raw.readableAborted) throw err;
    // busboy's own words for a body it cannot parse (no boundary, a part cut short, no closing boundary).
    request.log.info({ err: (err as Error).message }, 'unreadable multipart body');
    throw new AppError('INVALID_MULTIPART', 'The multipart/form-data body cannot be read', { reason: (err as Error).message });
  }
  if (!received) throw invalidInput('The upload has no file', [{ path: FILE_PART, message: `is required: send the image as the part named ${FILE_PART}` }]);
  return received;
}

/** A part that will not be read is let through, so that busboy is not held up by it on the way to the next. */
function refuse(part: Multipart): void {
  if (part.type === 'file') part.file.resume();
}

/**
 * The stream's chunks as they come, counted and hashed; 'too-large' as soon as they pass `maxBytes`. Read by events,
 * not `for await`: leaving a loop early destroys the stream, and with a request's body its socket, before any answer.
 */
function hold(stream: Readable, maxBytes: number): Promise<Omit<ReceivedFile, 'declaredType'> | 'too-large'> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed) return reject(stream.errored ?? new Error('the stream was closed before it was read'));
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    let bytes = 0;
    const settle = (done: () => void) => {
      stream.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      done();
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= maxBytes) {
        chunks.push(chunk);
        hash.update(chunk);
        return;
      }
      stream.pause();
      chunks.length = 0;
      settle(() => resolve('too-large'));
    };
    const onEnd = () => settle(() => resolve({ chunks, bytes, sha256: hash.digest('hex') }));
    const onError = (err: Error) => settle(() => reject(err));
    const onClose = () => settle(() => reject(new Error('the stream closed before its end')));
    stream.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}
