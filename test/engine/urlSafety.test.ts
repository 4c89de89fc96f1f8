import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { addressRefusal, type CallbackUrlPolicy, checkCallbackUrl, dnsResolve, pinnedLookup } from '../../src/engine/callbacks/urlSafety.js';
import { type DnsQuestion, type DnsReply, TinyDnsServer } from '../helpers/dnsServer.js';

const strict: CallbackUrlPolicy = { allowHttp: false, allowPrivate: false };
const resolvesTo =
  (...addresses: string[]) =>
  async (): Promise<LookupAddress[]> =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('addressRefusal', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['ff02::1', 'multicast'],
  ])('refuses %s (%s)', (ip, what) => {
    expect(addressRefusal(ip)).toContain(what);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'], // how the URL parser writes it
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:a9fe:a9fe', 'metadata'], // 169.254.169.254
    ['0:0:0:0:0:ffff:c0a8:0101', 'private'], // 192.168.1.1
    ['64:ff9b::a00:1', 'private'], // NAT64 of 10.0.0.1
    ['::127.0.0.1', 'loopback'], // IPv4-compatible
    ['::7f00:1', 'loopback'], // IPv4-compatible, as the URL parser writes it
  ])('looks through IPv6 that carries IPv4: %s', (ip, what) => {
    expect(addressRefusal(ip)).toContain(what);
  });

  it.each([
    ['2002:7f00:1::', 'a loopback address carried in a 6to4 address'],
    ['2002:a9fe:a9fe:1::1', 'a cloud metadata address carried in a 6to4 address'],
    ['2002:c0a8:101::1', 'a private address carried in a 6to4 address'],
    // Teredo: server IPv4 in bits 32-63, client IPv4 in the last 32 bits, inverted.
    ['2001:0:a00:1::f7f7:f7f7', 'a private address carried in a Teredo address'], // server 10.0.0.1, client 8.8.8.8
    ['2001:0:808:808::80ff:fffe', 'a loopback address carried in a Teredo address'], // server 8.8.8.8, client 127.0.0.1
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'a reserved or documentation address carried in a Teredo address'], // RFC 4380's example: client 192.0.2.45
    ['::ffff:0:7f00:1', 'a loopback address carried in an IPv4-translated (SIIT) address'],
    ['::ffff:0:a00:1', 'a private address carried in an IPv4-translated (SIIT) address'],
    ['64:ff9b::7f00:1', 'a loopback address carried in a NAT64 address'],
    ['::ffff:7f00:1', 'a loopback address carried in an IPv4-mapped address'],
    ['::7f00:1', 'a loopback address carried in an IPv4-compatible address'],
    // Local-use NAT64 (RFC 8215): where the IPv4 sits is each network's choice, so it is refused whatever it carries.
    ['64:ff9b:1::a00:1', 'a local-use NAT64 address'],
    ['64:ff9b:1::808:808', 'a local-use NAT64 address'],
    ['64:ff9b:1:ffff::1', 'a local-use NAT64 address'],
    ['192.88.99.1', 'a 6to4 relay anycast address'],
    ['192.88.99.255', 'a 6to4 relay anycast address'],
  ])('names the IPv6 form and what it carries: %s', (ip, reason) => {
    expect(addressRefusal(ip)).toBe(reason);
  });

  it.each([
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'reserved'], // RFC 2544 benchmarking, which ipaddr.js files under reserved
    ['240.0.0.1', 'reserved'],
    ['192.175.48.1', 'AS112'],
    ['192.52.193.1', 'AMT'],
    ['2001:db8::1', 'documentation'],
    ['2001:2::1', 'benchmarking'],
    ['100::1', 'discard-only'],
    ['fec0::1', 'site-local'],
    ['2001:20::1', 'special-purpose'], // ORCHIDv2: whatever ipaddr.js names and we do not, is still refused
    ['3fff::1', 'documentation'],
  ])('refuses every special-purpose range ipaddr.js knows: %s (%s)', (ip, what) => {
    expect(addressRefusal(ip)).toContain(what);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '169.253.0.1',
    '11.0.0.1',
    '192.88.98.255',
    '192.88.100.0',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    'fbff::1',
    'fe00::1',
    // IPv6 forms whose carried IPv4 is public reach a public address.
    '2002:808:808::1',
    '2001:0:808:808::f7f7:f7f7',
    '::ffff:0:808:808',
    '::808:808',
    '64:ff9b:2::1',
  ])('allows the public address %s', (ip) => {
    expect(addressRefusal(ip)).toBeNull();
  });
});

describe('checkCallbackUrl', () => {
  it('requires https unless plain http is allowed', async () => {
    expect(await checkCallbackUrl('http://hooks.example.com/x', strict, resolvesTo('93.184.216.34'))).toEqual({ kind: 'refused', reason: 'must use https' });
    expect(await checkCallbackUrl('ftp://hooks.example.com/x', { ...strict, allowHttp: true })).toMatchObject({ kind: 'refused' });
    expect(await checkCallbackUrl('http://hooks.example.com/x', { ...strict, allowHttp: true }, resolvesTo('93.184.216.34'))).toMatchObject({
      kind: 'allowed',
    });
  });

  it('refuses literal addresses in every spelling the URL parser accepts', async () => {
    for (const url of [
      'https://127.0.0.1/x',
      'https://2130706433/x',
      'https://0x7f.1/x',
      'https://[::1]/x',
      'https://[::ffff:127.0.0.1]/x',
      'https://169.254.169.254/latest/meta-data/',
      'https://10.0.0.7:8443/',
    ]) {
      expect(await checkCallbackUrl(url, strict, resolvesTo()), url).toMatchObject({ kind: 'refused' });
    }
  });

  it.each([
    ['https://[2002:7f00:1::]/x', '6to4'],
    ['https://[2001:0:a00:1::f7f7:f7f7]/x', 'Teredo'],
    ['https://[2001:0:808:808::80ff:fffe]/x', 'Teredo'],
    ['https://[64:ff9b:1::808:808]/x', 'local-use NAT64'],
    ['https://[::ffff:0:127.0.0.1]/x', 'SIIT'],
    ['https://[64:ff9b::127.0.0.1]/x', 'NAT64'],
    ['https://[::127.0.0.1]/x', 'IPv4-compatible'],
    ['https://192.88.99.1/x', '6to4 relay'],
  ])('refuses the literal %s, naming the %s form', async (url, form) => {
    expect(await checkCallbackUrl(url, strict, resolvesTo())).toMatchObject({ kind: 'refused', reason: expect.stringContaining(form) });
  });

  it('refuses a name that resolves to an IPv6 form carrying a private IPv4, without telling the address', async () => {
    const check = await checkCallbackUrl('https://tunnel.example.com/x', strict, resolvesTo('93.184.216.34', '2002:a00:1::1'));
    expect(check).toEqual({ kind: 'refused', reason: 'tunnel.example.com resolves to a private address carried in a 6to4 address' });
  });

  it.each([
    'https://user:secret-pass@hooks.example.com/x',
    'https://user@hooks.example.com/x',
    'https://:secret-pass@hooks.example.com/x',
    'https://user:secret-pass@127.0.0.1/x',
  ])('refuses credentials in %s without repeating them, whatever the policy', async (url) => {
    for (const policy of [strict, { allowHttp: true, allowPrivate: true }]) {
      const check = await checkCallbackUrl(url, policy, resolvesTo('93.184.216.34'));
      expect(check).toEqual({ kind: 'refused', reason: 'must not contain credentials (user:password@)' });
    }
  });

  it('refuses a name when any of its addresses is refused, without telling the address', async () => {
    const check = await checkCallbackUrl('https://internal.example.com/x', strict, resolvesTo('93.184.216.34', '10.0.0.5'));
    expect(check).toEqual({ kind: 'refused', reason: 'internal.example.com resolves to a private address' });
  });

  it('allows a public name and hands back the checked addresses to connect to', async () => {
    const check = await checkCallbackUrl('https://hooks.example.com/x', strict, resolvesTo('93.184.216.34', '2606:2800:220:1::1'));
    expect(check).toMatchObject({ kind: 'allowed', addresses: [{ address: '93.184.216.34' }, { address: '2606:2800:220:1::1' }] });
  });

  it('reports a name that does not resolve as unresolved', async () => {
    const failing = async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    };
    expect(await checkCallbackUrl('https://nowhere.invalid/x', strict, failing)).toMatchObject({
      kind: 'unresolved',
      reason: 'nowhere.invalid does not resolve (ENOTFOUND)',
    });
  });

  it('refuses localhost and its subdomains by name: the resolver does not read /etc/hosts', async () => {
    for (const host of ['localhost', 'LOCALHOST', 'localhost.', 'api.localhost']) {
      // The system resolver (default), whatever it knows: the name is refused before any lookup.
      expect(await checkCallbackUrl(`https://${host}:8443/x`, strict), host).toMatchObject({
        kind: 'refused',
        reason: expect.stringContaining('a loopback name'),
      });
    }
    expect(await checkCallbackUrl('https://notlocalhost.example/x', strict, resolvesTo('93.184.216.34'))).toMatchObject({ kind: 'allowed' });
  });

  it('lets everything through when private addresses are allowed', async () => {
    const check = await checkCallbackUrl('https://127.0.0.1/x', { ...strict, allowPrivate: true });
    expect(check.kind).toBe('allowed');
    expect(check.kind === 'allowed' && check.addresses).toBeUndefined();
  });
});

describe('pinnedLookup', () => {
  const addresses: LookupAddress[] = [
    { address: '93.184.216.34', family: 4 },
    { address: '2606:2800:220:1::1', family: 6 },
  ];
  const call = (options: object) =>
    new Promise<unknown[]>((resolve) => pinnedLookup(addresses)('anything.example', options as never, (...args: unknown[]) => resolve(args)));

  it('answers only with the checked addresses', async () => {
    expect(await call({ all: true })).toEqual([null, addresses]);
    expect(await call({})).toEqual([null, '93.184.216.34', 4]);
    expect(await call({ family: 6 })).toEqual([null, '2606:2800:220:1::1', 6]);
  });
});

describe('dnsResolve (c-ares against a real DNS server)', () => {
  let dns: TinyDnsServer | undefined;
  afterEach(async () => {
    await dns?.close();
    dns = undefined;
  });
  const serve = async (reply: (q: DnsQuestion) => DnsReply) => (dns = await TinyDnsServer.start(reply));
  const check = (host: string, options: Parameters<typeof dnsResolve>[0] = {}) =>
    checkCallbackUrl(`https://${host}/hook`, strict, dnsResolve({ servers: [dns!.server], ...options }));

  it('asks for A and AAAA and connects to both; a family without records is empty', async () => {
    await serve(({ name, type }) => ({ addresses: type === 'A' ? ['93.184.216.34'] : name.startsWith('both') ? ['2606:2800:220:1::1'] : [] }));
    expect(await check('both.example.com')).toMatchObject({
      kind: 'allowed',
      addresses: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1::1', family: 6 },
      ],
    });
    expect(dns!.questions).toEqual(
      expect.arrayContaining([
        { name: 'both.example.com', type: 'A' },
        { name: 'both.example.com', type: 'AAAA' },
      ]),
    );
    expect(await check('v4only.example.com')).toMatchObject({ kind: 'allowed', addresses: [{ address: '93.184.216.34', family: 4 }] });
  });

  it('refuses a name when either family holds a refused address', async () => {
    await serve(({ name, type }) => ({ addresses: type === 'A' ? ['93.184.216.34'] : name.startsWith('loop') ? ['::1'] : ['2002:a9fe:a9fe::1'] }));
    expect(await check('loop.example.com')).toEqual({ kind: 'refused', reason: 'loop.example.com resolves to a loopback address' });
    expect(await check('tunnel.example.com')).toEqual({
      kind: 'refused',
      reason: 'tunnel.example.com resolves to a cloud metadata address carried in a 6to4 address',
    });
  });

  it('reports a name without records in either family as unresolved', async () => {
    await serve(({ name }) => (name.startsWith('nx') ? { rcode: 'NXDOMAIN' } : { addresses: [] }));
    expect(await check('nx.example.com')).toMatchObject({ kind: 'unresolved', reason: 'nx.example.com does not resolve' });
    expect(await check('empty.example.com')).toMatchObject({ kind: 'unresolved', reason: 'empty.example.com does not resolve' });
  });

  it('judges nothing on half an answer: a failing family makes the name unresolved', async () => {
    await serve(({ type }) => (type === 'A' ? { addresses: ['93.184.216.34'] } : { rcode: 'SERVFAIL' }));
    expect(await check('half.example.com', { tries: 1 })).toMatchObject({ kind: 'unresolved', reason: 'half.example.com does not resolve (ESERVFAIL)' });
  });

  it('gives up on a server that never answers: after its tries, or at the deadline', async () => {
    await serve(() => 'ignore');
    expect(await check('silent.example.com', { timeoutMs: 100, tries: 2 })).toMatchObject({
      kind: 'unresolved',
      reason: 'silent.example.com does not resolve (ETIMEOUT)',
    });
    expect(dns!.questions.filter((q) => q.type === 'A')).toHaveLength(2);
    // However many tries and servers c-ares would go through, the deadline ends them.
    expect(await check('silent.example.com', { timeoutMs: 60_000, tries: 5, deadlineMs: 200 })).toMatchObject({
      kind: 'unresolved',
      reason: 'silent.example.com does not resolve (ECANCELLED)',
    });
  });

  it('leaves the thread pool free: file reads and dns.lookup() go on while more names hang than the pool has threads', async () => {
    await serve(() => 'hold');
    const hanging = 2 * Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    let settled = 0;
    const checks = Array.from({ length: hanging }, (_, i) =>
      check(`hang${i}.example.com`, { timeoutMs: 60_000, tries: 1, deadlineMs: 60_000 }).finally(() => (settled += 1)),
    );
    await waitUntil(() => dns!.questions.length >= 2 * hanging);

    // Both run on libuv's pool: had the checks used dns.lookup(), every thread would be waiting for DNS.
    const [file, localhost] = await Promise.all([readFile(import.meta.filename, 'utf8'), lookup('localhost')]);
    expect(file).toContain('leaves the thread pool free');
    expect(localhost.address).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(settled).toBe(0);

    dns!.release(() => ({ rcode: 'NXDOMAIN' }));
    for (const result of await Promise.all(checks)) expect(result).toMatchObject({ kind: 'unresolved' });
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
