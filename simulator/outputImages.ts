import { createCipheriv, createHash } from 'node:crypto';
import { once } from 'node:events';
import { constants, createDeflate } from 'node:zlib';
import { pngFromDeflated, RGB_BYTES_PER_PIXEL } from './png.js';

export interface EncodedImage {
  body: Buffer;
  /** A strong ETag (quoted): the bytes' SHA-256. */
  etag: string;
}

// Low bits of noise on every channel keep deflate from folding the picture away: a 2K output weighs what a real
// one does (several MB) instead of a few kB, so a client's download path sees realistic sizes and timings.
const NOISE_MASK = 0b111;
// About 1 MB of scanlines per band: between bands the event loop runs, and zlib's thread deflates the last band.
const BAND_BYTES = 1 << 20;
const TILES_ACROSS = 16;
const GRADIENT = 57;
const PNG_FILTER_UP = 2;

/**
 * A deterministic picture for `seed`: a seeded two-colour checkerboard over a gradient, plus seeded noise. The
 * pattern scales with the image (tiles are a 16th of the width), so the thumbnail of an output looks like it.
 */
export async function renderPng(seed: string, width: number, height: number): Promise<Buffer> {
  const key = createHash('sha256').update(seed).digest();
  // AES-CTR of zeros is a seeded stream of noise made natively, far faster than a PRNG in JS.
  const noise = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  // Huffman only: LZ77 finds nothing in noise and would triple the time. Filter Up turns the noise into small residuals.
  // Output chunks of a band's size: with zlib's default 16 kB each one is a round trip through the event loop.
  const deflater = createDeflate({ level: 1, strategy: constants.Z_HUFFMAN_ONLY, chunkSize: BAND_BYTES });
  const compressed: Buffer[] = [];
  deflater.on('data', (chunk: Buffer) => compressed.push(chunk));
  const ended = once(deflater, 'end');

  const rowBytes = width * RGB_BYTES_PER_PIXEL;
  const stride = 1 + rowBytes;
  const rowsPerBand = Math.max(1, Math.floor(BAND_BYTES / stride));
  const zeros = Buffer.alloc(rowBytes);
  const tile = Math.max(1, Math.floor(width / TILES_ACROSS));
  // Each channel stays below 256 (tint ≤ 63, tile ≤ 127, gradient ≤ 57, noise ≤ 7): no wrap-around seams.
  const tint = [key[0]! >> 2, key[1]! >> 2, key[2]! >> 2] as const;
  const tiles = [
    [key[3]! >> 1, key[4]! >> 1, key[5]! >> 1],
    [key[6]! >> 1, key[7]! >> 1, key[8]! >> 1],
  ] as const;
  let above = new Uint8Array(rowBytes);
  let row = new Uint8Array(rowBytes);

  for (let y0 = 0; y0 < height; y0 += rowsPerBand) {
    const rows = Math.min(rowsPerBand, height - y0);
    const band = Buffer.allocUnsafe(rows * stride);
    for (let r = 0; r < rows; r++) {
      const y = y0 + r;
      const bits = noise.update(zeros);
      const rowParity = Math.floor(y / tile) & 1;
      const gy = ((y * GRADIENT) / height) | 0;
      for (let x0 = 0, i = 0; x0 < width; x0 += tile) {
        const [tr, tg, tb] = tiles[((x0 / tile) & 1) ^ rowParity]!;
        const red = tint[0] + tr;
        const green = tint[1] + tg + gy;
        const blue = tint[2] + tb + (gy >> 1);
        for (let x = x0, end = Math.min(width, x0 + tile); x < end; x++, i += 3) {
          const gx = ((x * GRADIENT) / width) | 0;
          row[i] = red + gx + (bits[i]! & NOISE_MASK);
          row[i + 1] = green + (bits[i + 1]! & NOISE_MASK);
          row[i + 2] = blue + (gx >> 1) + (bits[i + 2]! & NOISE_MASK);
        }
      }
      let at = r * stride;
      band[at++] = PNG_FILTER_UP;
      for (let i = 0; i < rowBytes; i++) band[at + i] = row[i]! - above[i]!;
      [above, row] = [row, above];
    }
    // Backpressure is ignored on purpose: the queue is at most the raw image, and not waiting on the thread lets
    // the next band be drawn while this one is deflated.
    deflater.write(band);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  deflater.end();
  await ended;
  return pngFromDeflated(width, height, Buffer.concat(compressed));
}

export async function encodeImage(seed: string, width: number, height: number): Promise<EncodedImage> {
  const body = await renderPng(seed, width, height);
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
}

/**
 * Encoded images by key, least recently used evicted past `maxBytes` (the newest one always stays). An image being
 * encoded is shared: concurrent requests for it wait on one encoding.
 */
export class ImageCache {
  private readonly entries = new Map<string, { image: Promise<EncodedImage>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string, encode: () => Promise<EncodedImage>): Promise<EncodedImage> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.image;
    }
    const entry = { image: encode(), bytes: 0 };
    this.entries.set(key, entry);
    entry.image.then(
      (image) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = image.body.length;
        this.bytes += entry.bytes;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.image;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes || this.entries.size <= 1) return;
      this.entries.delete(key);
      this.bytes -= entry.bytes;
    }
  }
}
