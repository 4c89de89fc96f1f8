import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import ipaddr from 'ipaddr.js';

export type DnsQuestion = { name: string; type: 'A' | 'AAAA' | number };

/**
 * How the server answers one question: these addresses (none = NODATA), an error code, or nothing at
 * all — 'hold' keeps the query until release(), 'ignore' drops it for good.
 */
export type DnsReply = { addresses: string[] } | { rcode: 'NXDOMAIN' | 'SERVFAIL' } | 'hold' | 'ignore';

const TYPES: Record<number, 'A' | 'AAAA'> = { 1: 'A', 28: 'AAAA' };
const RCODES = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

interface Held {
  query: Buffer;
  questionEnd: number;
  from: RemoteInfo;
  question: DnsQuestion;
}

/**
 * A real DNS server on UDP 127.0.0.1 for one question per query, enough for c-ares' A and AAAA lookups:
 * every question is recorded and answered from a script. Point a resolver at `server`.
 */
export class TinyDnsServer {
  readonly questions: DnsQuestion[] = [];
  private readonly held: Held[] = [];

  private constructor(
    private readonly socket: Socket,
    readonly server: string,
    private readonly reply: (question: DnsQuestion) => DnsReply,
  ) {}

  static async start(reply: (question: DnsQuestion) => DnsReply): Promise<TinyDnsServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const dns = new TinyDnsServer(socket, `127.0.0.1:${socket.address().port}`, reply);
    socket.on('message', (query, from) => dns.receive(query, from));
    return dns;
  }

  /** Answers every held query now, as `reply` says. */
  release(reply: (question: DnsQuestion) => Exclude<DnsReply, 'hold' | 'ignore'>): void {
    for (const held of this.held.splice(0)) this.send(held, reply(held.question));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private receive(query: Buffer, from: RemoteInfo): void {
    const { question, questionEnd } = parseQuestion(query);
    this.questions.push(question);
    const reply = this.reply(question);
    if (reply === 'ignore') return;
    if (reply === 'hold') this.held.push({ query, questionEnd, from, question });
    else this.send({ query, questionEnd, from, question }, reply);
  }

  private send({ query, questionEnd, from }: Held, reply: Exclude<DnsReply, 'hold' | 'ignore'>): void {
    const rcode = 'rcode' in reply ? RCODES[reply.rcode] : RCODES.NOERROR;
    const answers = 'addresses' in reply ? reply.addresses.map((address) => answerRecord(address)) : [];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    header[2] = 0x84 | (query[2]! & 0x01); // QR, AA, the client's RD
    header[3] = 0x80 | rcode; // RA
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    this.socket.send(Buffer.concat([header, query.subarray(12, questionEnd), ...answers]), from.port, from.address);
  }
}

const TYPES_BY_NAME = { A: 1, AAAA: 28 } as const;

function parseQuestion(query: Buffer): { question: DnsQuestion; questionEnd: number } {
  const labels: string[] = [];
  let at = 12;
  for (let length = query[at]!; length > 0; length = query[at]!) {
    labels.push(query.toString('latin1', at + 1, at + 1 + length));
    at += 1 + length;
  }
  const type = query.readUInt16BE(at + 1);
  return { question: { name: labels.join('.').toLowerCase(), type: TYPES[type] ?? type }, questionEnd: at + 5 };
}

function answerRecord(address: string): Buffer {
  const data = Buffer.from(ipaddr.parse(address).toByteArray());
  const type = data.length === 4 ? TYPES_BY_NAME.A : TYPES_BY_NAME.AAAA;
  const record = Buffer.alloc(12);
  record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  record.writeUInt16BE(type, 2);
  record.writeUInt16BE(1, 4); // IN
  record.writeUInt32BE(60, 6); // TTL
  record.writeUInt16BE(data.length, 10);
  return Buffer.concat([record, data]);
}
