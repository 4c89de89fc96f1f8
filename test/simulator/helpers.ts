import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.js';

export const KEY = 'pb_sim_key';
export const SECRET = 'whsec_sim_secret';
export const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';

export const proInput = (extra: Record<string, unknown> = {}) => ({
  prompt: 'make the sky purple',
  image_urls: ['https://example.com/a.png'],
  ...extra,
});

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: any;
  at: number;
}

/** A real HTTP server that takes webhooks; `statuses` answers the first calls, then 200. */
export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  statuses: number[];
  close(): Promise<void>;
}

export async function startReceiver(statuses: number[] = []): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  const receiver: Receiver = { url: '', received, statuses, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, rawBody, body: JSON.parse(rawBody), at: Date.now() });
      res.statusCode = receiver.statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/pixelbyte`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

export interface Running {
  sim: Simulator;
  url: string;
  api(method: string, path: string, body?: unknown, key?: string | null): Promise<{ status: number; body: any }>;
  submit(body: unknown, key?: string | null): Promise<{ status: number; body: any }>;
}

/** A simulator on a random port with fast timings. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Running> {
  const sim = createSimulator({ pendingMs: 30, processingMs: 60, webhookRetryDelaysMs: [20, 40, 80], ...options });
  const url = await sim.listen(0);
  const api: Running['api'] = async (method, path, body, key = KEY) => {
    const headers: Record<string, string> = {};
    if (key !== null) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return { sim, url, api, submit: (body, key) => api('POST', '/v1/jobs/submit', body, key) };
}
