import { randomBytes } from 'node:crypto';
import type { TestRelay } from './relay.js';

/** Files as clients upload them: each starts with its format's signature (nothing here decodes the rest). */
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
export const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0'), randomBytes(200)]);
export const GIF = Buffer.concat([Buffer.from('GIF89a'), randomBytes(40)]);
export const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x24, 0, 0, 0]), Buffer.from('WEBPVP8 '), randomBytes(60)]);

/** A file of exactly `size` bytes that is a PNG by its first bytes. */
export function pngOfSize(size: number): Buffer {
  const file = Buffer.alloc(size, 0x61);
  PNG.copy(file, 0, 0, Math.min(PNG.length, size));
  return file;
}

/** A multipart/form-data body, written out by hand (as `inject` takes it, and so that parts can be what no browser sends). */
export function multipartBody(parts: { name: string; filename?: string; type?: string; body: Buffer | string }[], boundary = 'pixelrelay-test-boundary') {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const headers = [`Content-Disposition: ${disposition}`, ...(part.type ? [`Content-Type: ${part.type}`] : [])].join('\r\n');
    chunks.push(Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), Buffer.from(part.body), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** POST /v1/uploads over real HTTP, multipart as fetch writes it. */
export async function uploadFile(t: TestRelay, file: Buffer, options: { type?: string; filename?: string; auth?: { authorization: string } } = {}) {
  const form = new FormData();
  form.append('file', new Blob([file], { type: options.type ?? 'image/png' }), options.filename ?? 'photo.png');
  const res = await fetch(`${t.relay.url}/v1/uploads`, { method: 'POST', headers: options.auth ?? t.auth, body: form });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

/** The file as an edit carries it inline: `data:<type>;base64,…`. */
export function dataUrl(file: Buffer, type = 'image/png'): string {
  return `data:${type};base64,${file.toString('base64')}`;
}
