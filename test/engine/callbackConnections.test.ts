import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson } from '../../src/engine/callbacks/send.js';

// Callback POSTs reuse keep-alive connections, but only ones opened to addresses the attempt itself checked: a
// connection pooled for one DNS answer must never carry a POST whose check gave another.
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const listen = async <S extends Server | TcpServer>(server: S, host: string): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as { port: number }).port;
};

const v4 = (address: string) => [{ address, family: 4 }];
const send = (port: number, addresses: { address: string; family: number }[]) =>
  postJson(new URL(`http://callbacks.example.com:${port}/hook`), '{"n":1}', {}, { timeoutMs: 2_000, addresses });

/** Which local address and client port each request arrived on. */
async function recordingServer() {
  const arrivals: { local: string; clientPort: number }[] = [];
  const server = createHttpServer((req, res) => {
    arrivals.push({ local: req.socket.localAddress ?? '', clientPort: req.socket.remotePort ?? 0 });
    req.resume().on('end', () => res.writeHead(204).end());
  });
  return { arrivals, port: await listen(server, '0.0.0.0') };
}

describe('a callback POST', () => {
  it('reuses a connection only for the same checked addresses', async () => {
    const { arrivals, port } = await recordingServer();
    expect((await send(port, v4('127.0.0.1'))).statusCode).toBe(204);
    expect((await send(port, v4('127.0.0.1'))).statusCode).toBe(204);
    // Same origin, but a check that gave another address: a pooled connection to 127.0.0.1 must not carry it.
    expect((await send(port, v4('127.0.0.2'))).statusCode).toBe(204);
    expect(arrivals.map((a) => a.local)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.2']);
    expect(arrivals[1]!.clientPort).toBe(arrivals[0]!.clientPort);
    expect(arrivals[2]!.clientPort).not.toBe(arrivals[0]!.clientPort);
  });

  it('does not reuse a connection whose answer was not read to its end', async () => {
    const clientPorts: number[] = [];
    const verbose = createHttpServer((req, res) => {
      clientPorts.push(req.socket.remotePort ?? 0);
      req.resume().on('end', () => res.writeHead(500).end('x'.repeat(100_000)));
    });
    const port = await listen(verbose, '127.0.0.1');
    expect(await send(port, v4('127.0.0.1'))).toMatchObject({ statusCode: 500, bodyExcerpt: 'x'.repeat(4 * 1024) });
    await send(port, v4('127.0.0.1'));
    expect(clientPorts).toHaveLength(2);
    expect(clientPorts[1]).not.toBe(clientPorts[0]);
  });

  it('waits for a slow answer past the idle timeout of pooled connections (4 s), up to its own deadline', async () => {
    const slow = createHttpServer((req, res) => {
      req.resume();
      setTimeout(() => res.writeHead(200).end('late'), 5_000);
    });
    const port = await listen(slow, '127.0.0.1');
    const result = await postJson(new URL(`http://127.0.0.1:${port}/hook`), '{}', {}, { timeoutMs: 8_000, addresses: v4('127.0.0.1') });
    expect(result).toMatchObject({ statusCode: 200, bodyExcerpt: 'late' });
  }, 15_000);

  it('goes again, once, on a new connection when the receiver dropped the idle one it reused', async () => {
    // A receiver that keeps connections alive but resets each one on its second request, as one closing an idle
    // connection at the moment it is reused would.
    const connections: Socket[] = [];
    const server = createTcpServer((socket) => {
      connections.push(socket);
      let received = '';
      let answered = 0;
      socket.on('data', (data) => {
        received += data.toString('latin1');
        const requests = received.split('{"n":1}').length - 1;
        if (requests === answered) return;
        answered = requests;
        if (requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
        else socket.resetAndDestroy();
      });
    });
    const port = await listen(server, '127.0.0.1');
    expect((await send(port, v4('127.0.0.1'))).statusCode).toBe(200);
    const second = await send(port, v4('127.0.0.1'));
    expect(second).toMatchObject({ statusCode: 200, bodyExcerpt: 'ok' });
    expect(second.error).toBeUndefined();
    expect(connections).toHaveLength(2);
  });
});
