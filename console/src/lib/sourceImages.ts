/** Every image an input names: URLs, data: URLs and `upload:<id>` references, wherever they sit in it. */
export function sourceImages(input: unknown): string[] {
  const found: string[] = [];
  const visit = (value: unknown) => {
    if (typeof value === 'string') {
      // A whole value that is one reference: a prompt that begins with a URL is still a prompt.
      if (/^(https?:\/\/|data:image\/|upload:)\S+$/.test(value)) found.push(value);
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit(input);
  return found;
}
