/** Where an input may name a source image: every model takes `image_urls` or the one `image_url`. */
const IMAGE_FIELDS = ['image_urls', 'image_url'] as const;

/** One source image of an input, and where it is (`image_urls.1`, `image_url`). */
export interface ImageSource {
  path: string;
  value: string;
}

/** The source images of an input the model schema has passed, in order. */
export function imageSourcesIn(input: Record<string, unknown>): ImageSource[] {
  const found: ImageSource[] = [];
  const add = (path: string, value: unknown) => {
    if (typeof value === 'string') found.push({ path, value });
  };
  for (const field of IMAGE_FIELDS) {
    const value = input[field];
    if (!Array.isArray(value)) add(field, value);
    else for (const [i, item] of value.entries()) add(`${field}.${i}`, item);
  }
  return found;
}

/** A copy of the input with each source image replaced by what `replace` makes of it; the input is left as it was. */
export function mapImageSources(input: Record<string, unknown>, replace: (value: string) => string): Record<string, unknown> {
  const mapped: Record<string, unknown> = { ...input };
  const one = (value: unknown) => (typeof value === 'string' ? replace(value) : value);
  for (const field of IMAGE_FIELDS) {
    const value = input[field];
    if (Array.isArray(value)) mapped[field] = value.map(one);
    else if (value !== undefined) mapped[field] = one(value);
  }
  return mapped;
}
