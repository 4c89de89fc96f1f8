export interface ServerEvent {
  event: string;
  data: string;
  id?: string;
}

/** Splits a server-sent-events body into events as its chunks arrive (the WHATWG parsing rules, minus retry:). */
export class EventParser {
  private buffer = '';
  private event = { event: 'message', data: [] as string[], id: undefined as string | undefined };

  push(chunk: string, emit: (event: ServerEvent) => void): void {
    this.buffer += chunk;
    // A CR that ends a chunk may be the first half of a CRLF: it waits for the next chunk to say.
    const heldCr = this.buffer.endsWith('\r');
    const lines = (heldCr ? this.buffer.slice(0, -1) : this.buffer).split(/\r\n|\r|\n/);
    this.buffer = (lines.pop() ?? '') + (heldCr ? '\r' : '');
    for (const line of lines) {
      if (line === '') {
        if (this.event.data.length > 0) emit({ event: this.event.event, data: this.event.data.join('\n'), id: this.event.id });
        this.event = { event: 'message', data: [], id: undefined };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') this.event.event = value;
      else if (field === 'data') this.event.data.push(value);
      else if (field === 'id') this.event.id = value;
    }
  }
}
