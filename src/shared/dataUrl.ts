/**
 * An image inline in an edit's input, as a `data:` URL (RFC 2397): `data:image/png;base64,iVBORw0…`. Only the
 * base64 form is taken (the percent-encoded one is for text), with parameters between the type and `;base64` allowed
 * (`data:image/png;name=a.png;base64,…`, as some tools write them).
 */
export const DATA_URL_PREFIX = 'data:';

/** A data URL's header (`data:` … `,`) is short; one whose comma is not within this many characters is not one. */
const MAX_HEADER_CHARS = 256;

const BASE64 = /^[A-Za-z0-9+/]*$/;

export const isDataUrl = (value: string): boolean => value.slice(0, DATA_URL_PREFIX.length).toLowerCase() === DATA_URL_PREFIX;

/** A data URL read as far as its form goes: nothing is decoded. */
export interface DataUrlParts {
  /** The declared media type, lower case, without parameters; '' when none was given. */
  mediaType: string;
  /** The base64 text after the comma. */
  base64: string;
}

/** What is wrong with the form of a data URL, or null when it is `data:<type>[;params];base64,<base64>`. */
export function dataUrlProblem(value: string): string | null {
  const parts = parseDataUrl(value);
  return typeof parts === 'string' ? parts : null;
}

/** The parts of a well-formed data URL, or what is wrong with it. */
export function parseDataUrl(value: string): DataUrlParts | string {
  const form = 'must be data:<image type>;base64,<the image in base64>';
  if (!isDataUrl(value)) return form;
  const comma = value.indexOf(',', DATA_URL_PREFIX.length);
  if (comma < 0 || comma > MAX_HEADER_CHARS) return form;
  const [mediaType = '', ...parameters] = value.slice(DATA_URL_PREFIX.length, comma).split(';');
  if (parameters.at(-1)?.toLowerCase() !== 'base64') return `${form} (only base64 data URLs are taken)`;
  const base64 = value.slice(comma + 1);
  const unpadded = base64.replace(/={1,2}$/, '');
  // Padding, when given, makes the length a multiple of 4; without it, a length of 4n + 1 cannot be base64.
  const lengthOk = unpadded.length === base64.length ? base64.length % 4 !== 1 : base64.length % 4 === 0;
  if (!lengthOk || !BASE64.test(unpadded)) return 'is a data URL whose data is not valid base64 (A–Z, a–z, 0–9, + and /, padded with =)';
  return { mediaType: mediaType.trim().toLowerCase(), base64 };
}

/** How many bytes base64 text decodes to, without decoding it. */
export function decodedLength(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor(((base64.length - padding) * 3) / 4);
}
