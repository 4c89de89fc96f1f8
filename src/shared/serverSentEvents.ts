/** One server-sent event as an EventSource reads it. */
export interface ServerSentEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * One block of a text/event-stream body (the lines before a blank line, `\n` line ends), as an EventSource parses
 * it: comments left out, `message` when it names no event; undefined for a block with no data, which dispatches
 * nothing.
 */
export function parseEventBlock(block: string): ServerSentEvent | undefined {
  const event: ServerSentEvent = { event: 'message', data: '' };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') event.id = value;
    else if (field === 'event') event.event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return undefined;
  event.data = data.join('\n');
  return event;
}
