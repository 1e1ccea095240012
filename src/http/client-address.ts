/**
 * The address of the client a request came from: the TCP peer, or — only when that peer is a
 * configured trusted proxy — the right-most untrusted address in X-Forwarded-For. Believing
 * X-Forwarded-For from anyone would let every anonymous caller pick its own rate-limit key.
 */
import { BlockList, isIP } from 'node:net';

/** What node:http passes Yoga as server context (absent when tests call app.fetch). */
export interface NodeServerContext {
  req?: { socket?: { remoteAddress?: string } };
}

export function createClientAddressResolver(trustedProxies: readonly string[]) {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, Number(prefix), family);
  }
  const isTrusted = (address: string) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };

  return function clientAddress(request: Request, server: NodeServerContext | undefined): string {
    const peer = normalize(server?.req?.socket?.remoteAddress ?? 'unknown');
    if (!isTrusted(peer)) return peer;
    const forwarded = (request.headers.get('x-forwarded-for') ?? '')
      .split(',')
      .map((part) => normalize(part.trim()))
      .filter((part) => isIP(part) !== 0);
    // Walk from the nearest hop back; the first address we do not trust is the client.
    for (let index = forwarded.length - 1; index >= 0; index--) {
      const hop = forwarded[index]!;
      if (!isTrusted(hop)) return hop;
    }
    return forwarded[0] ?? peer;
  };
}

/** `::ffff:127.0.0.1` (IPv4 seen through an IPv6 socket) → `127.0.0.1`. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
