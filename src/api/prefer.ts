/**
 * The `wait` preference of RFC 7240's Prefer header, in seconds: `wait` alone asks for the longest this server
 * grants (`max`), `wait=N` for N (capped at `max`). Anything else is no preference: a malformed Prefer is ignored,
 * as the RFC asks, never refused. Several Prefer headers arrive joined by commas, the list syntax the RFC uses.
 */
export function preferredWait(header: string | string[] | undefined, max: number): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  for (const preference of text.split(',')) {
    // A preference's own parameters follow `;`; `wait` has none, so only its token and value matter.
    const [head = ''] = preference.split(';');
    const match = /^\s*wait\s*(?:=\s*(?:"(\d{1,6})"|(\d{1,6})))?\s*$/i.exec(head);
    if (!match) continue;
    const value = match[1] ?? match[2];
    if (value === undefined) return max;
    const seconds = Number(value);
    if (seconds < 1) return undefined;
    return Math.min(seconds, max);
  }
  return undefined;
}
