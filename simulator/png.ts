import { crc32 } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** 8-bit truecolour, no alpha: the bytes per pixel of every PNG this module writes. */
export const RGB_BYTES_PER_PIXEL = 3;
// Encoders conventionally split IDAT; one huge chunk is legal but some streaming decoders buffer a chunk whole.
const IDAT_CHUNK_BYTES = 1 << 20;

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, tail]);
}

/** IHDR for an 8-bit RGB, non-interlaced image. */
function ihdr(width: number, height: number): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = 8; // bit depth
  data[9] = 2; // colour type: truecolour
  // bytes 10-12: compression, filter method, interlace all 0
  return chunk('IHDR', data);
}

/**
 * A PNG from already-deflated scanlines (each row a filter byte then width×3 bytes, the whole zlib-wrapped).
 * The caller deflates so it can choose where that runs (the thread pool, not the event loop).
 */
export function pngFromDeflated(width: number, height: number, zlibData: Buffer): Buffer {
  const parts = [SIGNATURE, ihdr(width, height)];
  for (let at = 0; at < zlibData.length; at += IDAT_CHUNK_BYTES) {
    parts.push(chunk('IDAT', zlibData.subarray(at, at + IDAT_CHUNK_BYTES)));
  }
  parts.push(chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
