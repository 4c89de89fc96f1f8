import { z } from 'zod';

/**
 * Text Postgres can store exactly as the client sent it. `text` and `jsonb` refuse U+0000, and a UTF-16
 * surrogate without its pair has no UTF-8 form: the driver sends U+FFFD instead (the text changes silently),
 * and jsonb refuses the `\ud800` escape outright. Matched per code unit (no `u` flag) so lone halves are seen.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what Postgres refuses
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSTORABLE_TEXT = 'must not contain U+0000 or an unpaired UTF-16 surrogate';

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** A zod string that Postgres can store; chain the field's own checks after it. */
export const storableString = () => z.string().refine(isStorableText, UNSTORABLE_TEXT);

// `ignoreBOM` keeps a leading byte-order mark in the text rather than dropping it: the text is the bytes, all of them.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The bytes as text, or null when they are not UTF-8 (an invalid or overlong sequence, an encoded surrogate, one
 * cut short). Node's own decoding would put U+FFFD in their place and the text would change without a word.
 */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}
