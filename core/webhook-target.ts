import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

/**
 * Where a merchant webhook may go (issue 13, item 7). A webhook URL is typed by a merchant, so
 * without a check paygate would POST into its own network on their behalf: the loopback admin of
 * a sidecar, a database on 10.x, the cloud metadata service at 169.254.169.254. Addresses are
 * checked at delivery time, after DNS, and the connection goes to exactly the address checked (a
 * `lookup` of our own on the request), so a name that resolves to a public address when checked
 * and to 127.0.0.1 a moment later (DNS rebinding) cannot slip through. PAYGATE_WEBHOOK_ALLOW_PRIVATE
 * lifts the check for local development and tests, where the receiver is on 127.0.0.1.
 */

/** Why an address is not a webhook target, or `public` when it may be one. */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link-local'
  | 'metadata'
  | 'unique-local'
  | 'multicast'
  | 'reserved';

const DESCRIPTION: Record<Exclude<AddressClass, 'public'>, string> = {
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  cgnat: 'a shared (carrier-grade NAT, 100.64.0.0/10) address',
  'link-local': 'a link-local address',
  metadata: 'a cloud metadata service address',
  'unique-local': 'a unique local (fc00::/7) address',
  multicast: 'a multicast address',
  reserved: 'a reserved or documentation address',
};

/** [first octets, prefix length, class]: the first match wins, so narrower entries come first. */
const IPV4_RULES: readonly [readonly number[], number, AddressClass][] = [
  [[169, 254, 169, 254], 32, 'metadata'],
  [[168, 63, 129, 16], 32, 'metadata'], // Azure's WireServer
  [[0], 8, 'unspecified'], // 0.0.0.0/8, "this network"; 0.0.0.0 reaches the local host on Linux
  [[10], 8, 'private'],
  [[100, 64], 10, 'cgnat'],
  [[127], 8, 'loopback'],
  [[169, 254], 16, 'link-local'],
  [[172, 16], 12, 'private'],
  [[192, 0, 0], 24, 'reserved'],
  [[192, 0, 2], 24, 'reserved'],
  [[192, 88, 99], 24, 'reserved'],
  [[192, 168], 16, 'private'],
  [[198, 18], 15, 'reserved'],
  [[198, 51, 100], 24, 'reserved'],
  [[203, 0, 113], 24, 'reserved'],
  [[224], 4, 'multicast'],
  [[240], 4, 'reserved'], // and 255.255.255.255
];

/** [first bytes, prefix length, class] for IPv6 (addresses that embed an IPv4 one are handled first). */
const IPV6_RULES: readonly [readonly number[], number, AddressClass][] = [
  [[0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54], 128, 'metadata'], // fd00:ec2::254
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64, 'reserved'], // 100::/64 discard
  [[0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48, 'private'], // 64:ff9b:1::/48 local-use NAT64 (RFC 8215)
  [[0x20, 0x01, 0x00, 0x00], 32, 'reserved'], // 2001::/32 Teredo: tunnels to an address it hides
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'reserved'], // documentation
  [[0xfc], 7, 'unique-local'],
  [[0xfe, 0x80], 10, 'link-local'],
  [[0xfe, 0xc0], 10, 'private'], // deprecated site-local
  [[0xff], 8, 'multicast'],
];

function matches(bytes: readonly number[], prefix: readonly number[], bits: number): boolean {
  for (let i = 0; i * 8 < bits; i++) {
    const take = Math.min(8, bits - i * 8);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyV4(bytes: readonly number[]): AddressClass {
  for (const [prefix, bits, cls] of IPV4_RULES) if (matches(bytes, prefix, bits)) return cls;
  return 'public';
}

function parseV4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

/** 16 bytes of an IPv6 address (a dotted IPv4 tail and `::` allowed; a zone id ignored), or null. */
function parseV6(text: string): number[] | null {
  let address = text.replace(/%.*$/, '');
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    const v4 = parseV4(dotted[2]!);
    if (!v4) return null;
    address = `${dotted[1]}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - left.length - right.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  const groups = [...left, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...right];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  return groups.flatMap((g) => {
    const word = parseInt(g, 16);
    return [word >> 8, word & 0xff];
  });
}

/**
 * The class of an IP address (IPv4, or IPv6 with its IPv4-mapped, IPv4-compatible, NAT64 and 6to4
 * forms judged by the IPv4 address they carry). Anything that is not an IP address is `reserved`.
 */
export function classifyAddress(address: string): AddressClass {
  const text = address.replace(/^\[|\]$/g, '');
  const kind = isIP(text.replace(/%.*$/, ''));
  if (kind === 4) return classifyV4(parseV4(text)!);
  if (kind !== 6) return 'reserved';
  const b = parseV6(text);
  if (!b) return 'reserved';
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zeros(0, 16)) return 'unspecified';
  if (zeros(0, 15) && b[15] === 1) return 'loopback';
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return classifyV4(b.slice(12)); // ::ffff:a.b.c.d
  if (zeros(0, 12)) return classifyV4(b.slice(12)) === 'public' ? 'reserved' : classifyV4(b.slice(12)); // ::a.b.c.d (deprecated)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return classifyV4(b.slice(12)); // 64:ff9b::/96
  if (b[0] === 0x20 && b[1] === 0x02) return classifyV4(b.slice(2, 6)); // 2002::/16 6to4
  for (const [prefix, bits, cls] of IPV6_RULES) if (matches(b, prefix, bits)) return cls;
  return 'public';
}

export function describeClass(cls: Exclude<AddressClass, 'public'>): string {
  return DESCRIPTION[cls];
}

const ALLOW_HINT = 'set PAYGATE_WEBHOOK_ALLOW_PRIVATE=true only for local development';

/** A delivery that paygate refused to make: no connection was opened. */
export class WebhookTargetRefusedError extends Error {
  readonly code = 'ERR_WEBHOOK_TARGET_REFUSED';
  constructor(address: string, cls: Exclude<AddressClass, 'public'>) {
    super(`refused: ${address} is ${describeClass(cls)}; webhooks go to public addresses only (${ALLOW_HINT})`);
    this.name = 'WebhookTargetRefusedError';
  }
}

/** A DNS lookup for a request that refuses the name when any address it resolves to is not public. */
export const checkedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { family: options.family ?? 0, hints: options.hints, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    // Every address, not only the first: with autoSelectFamily the socket may try any of them.
    for (const a of addresses) {
      const cls = classifyAddress(a.address);
      if (cls !== 'public') return callback(new WebhookTargetRefusedError(`${hostname} (${a.address})`, cls), '', 0);
    }
    if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

/**
 * Whether a webhook URL can be accepted when it is set (the CLI's merchant:create). Only what can be
 * told without DNS: the scheme, an IP literal, and `localhost` names; a name is checked again on
 * every delivery, after resolving it. Returns the problem in words, or null.
 */
export function webhookUrlProblem(url: string, allowPrivate: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be an http(s) URL';
  if (allowPrivate) return null;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const cls = classifyAddress(host);
    return cls === 'public' ? null : `points at ${describeClass(cls)} (${host}); ${ALLOW_HINT}`;
  }
  if (/(^|\.)localhost\.?$/i.test(host)) return `points at this machine (${host}); ${ALLOW_HINT}`;
  return null;
}

export interface WebhookPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** PAYGATE_WEBHOOK_ALLOW_PRIVATE: connect wherever the name resolves (local development, tests). */
  allowPrivate: boolean;
}

/**
 * POSTs a webhook and resolves with the HTTP status once the answer's head arrives (its body is
 * not read). Faults reject the way fetch does (an Error whose `cause` has the code) and a timeout
 * rejects with a `TimeoutError`, so the caller reports both alike. Redirects are not followed.
 */
export function postWebhook(post: WebhookPost): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(post.url);
    } catch {
      reject(new Error('the webhook URL is not a URL'));
      return;
    }
    const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
    if (!client) {
      reject(new Error('the webhook URL is not an http(s) URL'));
      return;
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!post.allowPrivate && isIP(host)) {
      // An IP literal never reaches `lookup` (the socket connects to it directly): checked here.
      const cls = classifyAddress(host);
      if (cls !== 'public') {
        reject(new Error('webhook request refused', { cause: new WebhookTargetRefusedError(host, cls) }));
        return;
      }
    }
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const request = client.request(url, {
      method: 'POST',
      headers: { ...post.headers, 'content-length': String(Buffer.byteLength(post.body)) },
      agent: false, // a fresh connection each time, to the address just checked
      ...(post.allowPrivate ? {} : { lookup: checkedLookup }),
    });
    const timer = setTimeout(() => {
      const err = new Error(`timed out after ${post.timeoutMs} ms`);
      err.name = 'TimeoutError';
      finish(() => reject(err));
      request.destroy();
    }, post.timeoutMs);
    request.on('response', (response) => {
      finish(() => resolve({ status: response.statusCode ?? 0 }));
      response.destroy();
    });
    request.on('error', (err) => finish(() => reject(new Error('webhook request failed', { cause: err }))));
    request.end(post.body);
  });
}
