import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { withTimeout } from '../infra/timeout.js';

/**
 * Outbound safety for callback URLs: a client must not be able to make pixelrelay POST into its own
 * network (loopback, private ranges, cloud metadata). Checked when an edit is accepted and again before
 * every attempt, and the attempt then connects only to the addresses that were checked, so a DNS answer
 * that changes between the check and the connection (DNS rebinding) cannot slip through.
 */
export interface CallbackUrlPolicy {
  /** Allow plain http (ALLOW_HTTP_CALLBACKS). */
  allowHttp: boolean;
  /** Allow loopback, private, link-local and metadata addresses (CALLBACK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

export type CallbackUrlCheck =
  /** `addresses` are the checked addresses to connect to; undefined when any address is allowed. */
  | { kind: 'allowed'; url: URL; addresses?: LookupAddress[] }
  | { kind: 'refused'; reason: string }
  /** The name did not resolve (now): nothing can be judged, and nothing can be sent. */
  | { kind: 'unresolved'; url: URL; reason: string };

export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

// getaddrinfo cannot be cancelled, but nobody needs to wait for a resolver that does not answer.
const DNS_TIMEOUT_MS = 5_000;
const systemResolve: Resolve = (hostname) => withTimeout(dnsLookup(hostname, { all: true, verbatim: true }), DNS_TIMEOUT_MS, 'DNS lookup');

export async function checkCallbackUrl(raw: string, policy: CallbackUrlPolicy, resolve: Resolve = systemResolve): Promise<CallbackUrlCheck> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { kind: 'refused', reason: 'is not a URL' };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    return { kind: 'refused', reason: url.protocol === 'http:' ? 'must use https' : `must use https, not ${url.protocol.replace(/:$/, '')}` };
  }
  // The WHATWG parser has already turned 2130706433, 0x7f.1 and friends into dotted quads.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(host);
  if (policy.allowPrivate) return { kind: 'allowed', url };

  let addresses: LookupAddress[];
  if (family) {
    addresses = [{ address: host, family }];
  } else {
    try {
      addresses = await resolve(host);
    } catch (err) {
      const { code, message } = err as NodeJS.ErrnoException;
      return { kind: 'unresolved', url, reason: `${host} does not resolve (${code ?? message})` };
    }
    if (addresses.length === 0) return { kind: 'unresolved', url, reason: `${host} does not resolve` };
  }
  for (const { address } of addresses) {
    const refusal = addressRefusal(address);
    // For a name, the address itself is not told: the answer would make us an oracle for internal DNS.
    if (refusal) return { kind: 'refused', reason: family ? `${host} is ${refusal}` : `${host} resolves to ${refusal}` };
  }
  return { kind: 'allowed', url, addresses };
}

/** A `lookup` for http.request that hands out only the given, already checked addresses. */
export function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const usable = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
    const first = usable[0];
    if (!first) {
      const err: NodeJS.ErrnoException = Object.assign(new Error('no checked address of the requested family'), { code: 'ENOTFOUND' });
      callback(err, '', 0);
    } else if (options.all) {
      callback(null, usable);
    } else {
      callback(null, first.address, first.family);
    }
  };
}

type Range = readonly [base: string, bits: number, what: string];

const METADATA = 'a cloud metadata address';
const PRIVATE = 'a private address';
const DOCUMENTATION = 'a documentation address';

// The most specific entries come first so the reason names them (169.254.169.254 is also link-local).
const IPV4_REFUSED: Range[] = [
  ['169.254.169.254', 32, METADATA],
  ['0.0.0.0', 8, 'an unspecified ("this network") address'],
  ['10.0.0.0', 8, PRIVATE],
  ['100.64.0.0', 10, 'a shared (carrier-grade NAT) address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address'],
  ['172.16.0.0', 12, PRIVATE],
  ['192.0.0.0', 24, 'an IETF protocol address'],
  ['192.0.2.0', 24, DOCUMENTATION],
  ['192.168.0.0', 16, PRIVATE],
  ['198.18.0.0', 15, 'a benchmarking address'],
  ['198.51.100.0', 24, DOCUMENTATION],
  ['203.0.113.0', 24, DOCUMENTATION],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved or broadcast address'],
];

const IPV6_REFUSED: Range[] = [
  ['fd00:ec2::254', 128, METADATA],
  ['::', 128, 'the unspecified address'],
  ['::1', 128, 'a loopback address'],
  ['fc00::', 7, 'a unique-local (private) address'],
  ['fe80::', 10, 'a link-local address'],
  ['fec0::', 10, 'a site-local address'],
  ['ff00::', 8, 'a multicast address'],
  ['100::', 64, 'a discard-only address'],
  ['2001:db8::', 32, DOCUMENTATION],
];

/** IPv6 ranges whose last 32 bits are an IPv4 address that is what is actually reached. */
const IPV6_EMBEDDING_IPV4: Range[] = [
  ['::ffff:0:0', 96, 'IPv4-mapped'],
  ['64:ff9b::', 96, 'NAT64'],
  ['::', 96, 'IPv4-compatible'],
];

/** Why pixelrelay must not call `ip` (e.g. "a loopback address"), or null when it is a public address. */
export function addressRefusal(ip: string): string | null {
  const family = isIP(ip);
  if (family === 4) {
    const value = BigInt(ipv4ToNumber(ip));
    return IPV4_REFUSED.find(([base, bits]) => inRange(value, BigInt(ipv4ToNumber(base)), bits, 32))?.[2] ?? null;
  }
  if (family === 6) {
    const value = ipv6ToBigInt(ip);
    const direct = IPV6_REFUSED.find(([base, bits]) => inRange(value, ipv6ToBigInt(base), bits, 128));
    if (direct) return direct[2];
    const embedding = IPV6_EMBEDDING_IPV4.find(([base, bits]) => inRange(value, ipv6ToBigInt(base), bits, 128));
    if (embedding) {
      const v4 = Number(value & 0xffff_ffffn);
      const refusal = addressRefusal([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.'));
      return refusal && `${refusal} (${embedding[2]})`;
    }
    return null;
  }
  return 'not an IP address';
}

function inRange(value: bigint, base: bigint, bits: number, width: number): boolean {
  const shift = BigInt(width - bits);
  return value >> shift === base >> shift;
}

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** An address that isIP() accepted as IPv6, with `::`, a zone id or a trailing dotted quad. */
function ipv6ToBigInt(ip: string): bigint {
  let text = ip.split('%')[0]!.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = ipv4ToNumber(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((n, group) => (n << 16n) | BigInt(parseInt(group, 16)), 0n);
}
