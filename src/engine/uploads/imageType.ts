/** The image types PixelByte presigns for, and the only ones an upload may be. */
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

/** A Content-Type without its parameters or case: `image/PNG; x=y` declares a PNG. */
export const mediaTypeOf = (contentType: string) => contentType.split(';')[0]!.trim().toLowerCase();

export const isImageType = (type: string): type is ImageType => (IMAGE_TYPES as readonly string[]).includes(type);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const ascii = (head: Buffer, at: number, text: string) => head.subarray(at, at + text.length).toString('latin1') === text;

/** How many leading bytes `sniffImageType` reads. */
export const SNIFF_BYTES = 16;

/**
 * The type the first bytes say, by each format's signature, as `file-type` reads these four: the client's word for
 * it is a hint, never the answer. A PNG must go on with its IHDR chunk, so a text file behind a PNG signature is not
 * one. The image is not decoded: a file that starts right and breaks later is PixelByte's to refuse.
 */
export function sniffImageType(head: Buffer): ImageType | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head.length >= 16 && head.subarray(0, 8).equals(PNG_SIGNATURE) && head.readUInt32BE(8) === 13 && ascii(head, 12, 'IHDR')) return 'image/png';
  if (ascii(head, 0, 'GIF87a') || ascii(head, 0, 'GIF89a')) return 'image/gif';
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBPVP8')) return 'image/webp';
  return null;
}

/** The file name PixelByte is given: ours, never the client's (which is text of any kind, and says nothing we need). */
export function fileNameFor(id: string, type: ImageType): string {
  return `${id}.${EXTENSIONS[type]}`;
}

const EXTENSIONS: Record<ImageType, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif' };
