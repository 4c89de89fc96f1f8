import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';

/** How the receiver answers one request: a status, a full answer, or no answer at all. */
export type ReceiverReply = number | { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface ReceivedCallback {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Date.now() when the request had fully arrived. */
  at: number;
}

/**
 * A client's callback endpoint: a real HTTP server on 127.0.0.1 that records every request and answers
 * each path from a script (the last reply repeats; 200 when nothing is scripted).
 */
export class CallbackReceiver {
  readonly received: ReceivedCallback[] = [];
  private readonly scripts = new Map<string, ReceiverReply[]>();
  private readonly hanging = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<CallbackReceiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const receiver = new CallbackReceiver(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => receiver.answer({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() }, res));
    });
    return receiver;
  }

  /** Replies for `path`, in order; the last one repeats. */
  script(path: string, ...replies: ReceiverReply[]): void {
    this.scripts.set(path, replies);
  }

  callsTo(path: string): ReceivedCallback[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Requests held open by a 'hang' reply right now. */
  get holding(): number {
    return this.hanging.size;
  }

  /** Answers every request held open by a 'hang' reply. */
  answerHeld(status = 200): void {
    for (const res of this.hanging) res.writeHead(status, { 'content-type': 'text/plain' }).end();
    this.hanging.clear();
  }

  private answer(request: ReceivedCallback, res: ServerResponse): void {
    this.received.push(request);
    const script = this.scripts.get(request.path) ?? [];
    const reply = (script.length > 1 ? script.shift() : script[0]) ?? 200;
    if (reply === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    const { status, headers = {}, body = '' } = typeof reply === 'number' ? { status: reply } : reply;
    res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
