import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real service (Postgres, Redis) that a test can cut and restore, so outages
 * are real network failures for the code under test while the shared service keeps serving other tests.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private up = true;
  /** While stalled, bytes are held here in arrival order, to be passed on by `resume`. */
  private held: (() => void)[] | undefined;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      if (!this.up) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      this.track(client);
      this.track(upstream);
      this.forward(client, upstream);
      this.forward(upstream, client);
      const closeBoth = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', closeBoth).on('close', closeBoth);
      upstream.on('error', closeBoth).on('close', closeBoth);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as { port: number }).port;
    return this.port;
  }

  /** Drops every open connection and refuses new ones until `restore`. */
  cut(): void {
    this.up = false;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.up = true;
  }

  /**
   * Ends every open connection, discarding whatever a stall held, as a restarted Postgres or a NAT that forgot
   * the flows does to a pool's idle and busy connections: `reset` sends an RST, `close` a FIN. New connections
   * are still accepted unless `refuseNew` (then until `restore`).
   */
  drop(how: 'reset' | 'close', { refuseNew = false } = {}): void {
    if (refuseNew) this.up = false;
    this.held = undefined;
    for (const socket of this.sockets) {
      if (how === 'reset') socket.resetAndDestroy();
      else socket.destroy();
    }
  }

  /** Chunks a stall is holding: a request is in flight on a connection once its query is among them. */
  get holding(): number {
    return this.held?.length ?? 0;
  }

  /** Connections stay open but nothing passes either way until `resume`: a service that stopped answering. */
  stall(): void {
    this.held ??= [];
  }

  /** Passes on everything held, in order, and forwards as before. */
  resume(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const pass of held) pass();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (this.held) this.held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

/** The same URL with host and port swapped for the proxy's. */
export function viaProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}
