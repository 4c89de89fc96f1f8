import { isUuid } from './ids.js';

/** How an edit's input names one of the client's uploads in place of an image URL: `upload:<id>`. */
export const UPLOAD_REFERENCE_PREFIX = 'upload:';

export const isUploadReference = (value: string): boolean => value.startsWith(UPLOAD_REFERENCE_PREFIX);

/** The upload id of `upload:<id>` (lower case, as Postgres writes a uuid), or null when what follows the prefix is no upload id. */
export function uploadIdOf(reference: string): string | null {
  const id = reference.slice(UPLOAD_REFERENCE_PREFIX.length);
  return isUploadReference(reference) && isUuid(id) ? id.toLowerCase() : null;
}
