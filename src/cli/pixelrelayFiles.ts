import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Credentials, PixelRelayApi } from './pixelrelayApi.js';

/**
 * The CLI's files: local images uploaded before an edit names them, and an edit's outputs downloaded. Apart from the
 * commands, so that how an edit is followed can change without touching these.
 */

/** An upload as POST /v1/uploads answers it. */
export interface UploadView {
  id: string;
  fileUrl: string;
  contentType: string;
  bytes: number;
  sha256: string;
  expiresAt: string;
}

/** An edit's output as GET /v1/edits shows it; `mirror` once the outputs are kept in the operator's bucket. */
export interface OutputView {
  url: string;
  format?: string;
  mirror?: { key?: string; bytes?: number; sha256?: string; contentType?: string; url?: string; error?: unknown };
}

/** What --image takes as it is: a URL PixelByte fetches, one of the client's uploads, or an image inline. */
const PASSED_THROUGH = /^(https?:\/\/|upload:|data:)/i;

/** A download that does not finish within this is an error, not a hang. */
const DOWNLOAD_TIMEOUT_MS = 5 * 60_000;

const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' };

/** POST /v1/uploads with the file as its one part; its type is the relay's to read from the bytes. */
export async function uploadLocalFile(api: PixelRelayApi, credentials: Credentials, file: string): Promise<UploadView> {
  const form = new FormData();
  form.append('file', new Blob([await readFile(file)], { type: 'application/octet-stream' }), path.basename(file));
  return api.send<UploadView>('POST', '/v1/uploads', credentials, form);
}

/**
 * The images an edit is sent with: each URL, `upload:<id>` or data: URL as given, each local file uploaded first and
 * named `upload:<id>`. A value that is neither an image reference nor a file is the caller's mistake (`notAFile`).
 */
export async function imagesForEdit(
  api: PixelRelayApi,
  credentials: Credentials,
  images: string[],
  notAFile: (message: string) => Error,
  uploaded: (file: string, upload: UploadView) => void = () => {},
): Promise<string[]> {
  const files = images.filter((image) => !PASSED_THROUGH.test(image));
  for (const file of files) {
    if (!(await stat(file).catch(() => null))?.isFile()) throw notAFile(notAFileMessage(file));
  }
  const references = new Map<string, string>();
  for (const file of new Set(files)) {
    const upload = await uploadLocalFile(api, credentials, file);
    uploaded(file, upload);
    references.set(file, `upload:${upload.id}`);
  }
  return images.map((image) => references.get(image) ?? image);
}

/**
 * The images an estimate is priced with: a local file (which must exist) stands as an upload it is not worth making,
 * since no price depends on an image; the estimate reads an `upload:<id>` for its form only.
 */
export async function imagesForEstimate(images: string[], notAFile: (message: string) => Error): Promise<string[]> {
  return Promise.all(
    images.map(async (image) => {
      if (PASSED_THROUGH.test(image)) return image;
      if (!(await stat(image).catch(() => null))?.isFile()) throw notAFile(notAFileMessage(image));
      return ANY_UPLOAD;
    }),
  );
}

const ANY_UPLOAD = 'upload:00000000-0000-0000-0000-000000000000';
const notAFileMessage = (file: string) => `--image ${file}: no such file, and not an http(s) URL, upload:<id> or data: URL`;

/** `pixelrelay upload FILE`'s file, which must be one. */
export async function checkIsFile(file: string, notAFile: (message: string) => Error): Promise<void> {
  if (!(await stat(file).catch(() => null))?.isFile()) throw notAFile(`${file}: no such file`);
}

/** Where an output is downloaded from: its copy in the operator's bucket when it has one, else PixelByte's URL. */
export function downloadUrlOf(output: OutputView): string {
  return output.mirror?.url ?? output.url;
}

/**
 * Downloads every output of an edit into `dir` (made if missing) as `{editId}-{n}.{ext}`, and returns their paths.
 * Each is written beside its name and renamed once whole, so a file that is there is complete. The output URLs are
 * PixelByte's CDN or presigned GETs of a bucket: they are sent no credentials of ours.
 */
export async function downloadOutputs(edit: { id: string; outputs: OutputView[] }, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const saved: string[] = [];
  for (const [n, output] of edit.outputs.entries()) {
    const url = downloadUrlOf(output);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    } catch (err) {
      const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new Error(`could not download output ${n} from ${url}: ${cause}`);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new Error(`could not download output ${n} from ${url}: HTTP ${response.status}`);
    }
    const file = path.join(dir, `${edit.id}-${n}.${extensionOf(output, response, url)}`);
    const partial = `${file}.part`;
    try {
      await pipeline(Readable.fromWeb(response.body as WebReadableStream), createWriteStream(partial));
      await rename(partial, file);
    } catch (err) {
      await rm(partial, { force: true });
      throw new Error(`could not download output ${n} from ${url}: ${err instanceof Error ? err.message : String(err)}`);
    }
    saved.push(file);
  }
  return saved;
}

/** The mirror's type, else the output's format, else what the answer says, else the URL's own extension. */
function extensionOf(output: OutputView, response: Response, url: string): string {
  const type = (output.mirror?.contentType ?? response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const fromUrl = /\.([a-z0-9]{1,5})$/i.exec(new URL(url).pathname)?.[1];
  const candidates = [output.mirror?.contentType ? EXTENSIONS[type] : undefined, output.format, EXTENSIONS[type], fromUrl];
  const ext = candidates.find((c) => c !== undefined && /^[a-z0-9]{1,5}$/i.test(c));
  return ext?.toLowerCase() ?? 'bin';
}
