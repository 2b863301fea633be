import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Addresses a reverse proxy of this installation can connect from: this machine, or a private
 * network (a proxy in another container or pod). A public address is never a proxy of ours.
 */
const NEAR = new BlockList();
NEAR.addSubnet('127.0.0.0', 8, 'ipv4'); // loopback
NEAR.addSubnet('10.0.0.0', 8, 'ipv4'); // private (RFC 1918)
NEAR.addSubnet('172.16.0.0', 12, 'ipv4');
NEAR.addSubnet('192.168.0.0', 16, 'ipv4');
NEAR.addSubnet('100.64.0.0', 10, 'ipv4'); // shared address space (RFC 6598), used by some clusters
NEAR.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local
NEAR.addAddress('::1', 'ipv6');
NEAR.addSubnet('fc00::', 7, 'ipv6'); // unique local
NEAR.addSubnet('fe80::', 10, 'ipv6'); // link-local

/**
 * Whether the TCP peer `address` (ctx.req.socket.remoteAddress, never a header) is loopback or on a
 * private network. IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4 peer) is read as IPv4.
 */
export function isNearPeer(address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return isIPv4(mapped[1]!) && NEAR.check(mapped[1]!, 'ipv4');
  if (isIPv4(address)) return NEAR.check(address, 'ipv4');
  const bare = address.replace(/%.*$/, ''); // a zone id (fe80::1%eth0)
  return isIPv6(bare) && NEAR.check(bare, 'ipv6');
}

export const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'] as const;

/**
 * A request came through a reverse proxy paygate does not trust when it carries a forwarding header
 * AND its TCP peer could be such a proxy (isNearPeer). The header alone proves nothing: any client
 * connecting directly from the internet can add one.
 */
export function viaUntrustedProxy(request: { trustProxy: boolean; socketAddress: string | undefined; header: (name: string) => string }): boolean {
  if (request.trustProxy) return false;
  return FORWARDING_HEADERS.some((name) => request.header(name) !== '') && isNearPeer(request.socketAddress);
}
