/**
 * SSRF protection for webhook endpoints. A tenant's admin chooses the URL this server POSTs
 * to, so in production only `https` URLs whose every resolved address is public are accepted
 * (at registration) and called (at delivery, where the connection goes to the address that
 * was checked, so a DNS answer that changes between the check and the connection cannot
 * redirect it). Address classes come from ipaddr.js: `unicast` is its name for public.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

export interface UrlPolicy {
  /** Only `https:` URLs. */
  readonly requireHttps: boolean;
  /** Loopback, private, link-local and other non-public addresses are allowed. */
  readonly allowPrivate: boolean;
}

export class UrlRefusedError extends Error {
  override name = 'UrlRefusedError';
  /** True when trying again later may succeed (the name did not resolve), false for a refusal. */
  readonly retryable: boolean;
  constructor(message: string, options: { retryable?: boolean } = {}) {
    super(message);
    this.retryable = options.retryable ?? false;
  }
}

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Checks the URL's form; returns the parsed URL or throws UrlRefusedError saying why. */
export function parseWebhookUrl(value: string, policy: UrlPolicy): URL {
  // The URL parser would drop or percent-encode these, so the stored URL would not be the one
  // called; and PostgreSQL cannot store U+0000.
  if (/[\p{Cc}\s]/u.test(value)) {
    throw new UrlRefusedError(
      'A URL may not contain spaces or control characters; percent-encode them.',
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UrlRefusedError('Not an absolute URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UrlRefusedError('Only http and https URLs can receive webhooks.');
  }
  if (policy.requireHttps && url.protocol !== 'https:') {
    throw new UrlRefusedError('Only https URLs can receive webhooks.');
  }
  if (url.username || url.password) {
    throw new UrlRefusedError('A webhook URL may not contain credentials.');
  }
  if (url.hash) throw new UrlRefusedError('A webhook URL may not contain a #fragment.');
  return url;
}

/** True for an address on the public internet. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  // process() turns IPv4-mapped IPv6 (::ffff:127.0.0.1) into the IPv4 address it is.
  return ipaddr.process(address).range() === 'unicast';
}

/**
 * Resolves the URL's host and checks every address it resolves to; returns the one to connect
 * to. A host that resolves to any non-public address is refused (unless allowed): one private
 * address among public ones is enough for an attacker who controls the DNS answer's order.
 */
export async function resolveWebhookAddress(
  url: URL,
  policy: UrlPolicy,
  resolve: Resolver = systemResolver,
): Promise<{ address: string; family: number }> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: { address: string; family: number }[];
  if (ipaddr.isValid(host)) {
    addresses = [{ address: host, family: host.includes(':') ? 6 : 4 }];
  } else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new UrlRefusedError(`The host ${host} does not resolve.`, { retryable: true });
    }
  }
  if (addresses.length === 0) {
    throw new UrlRefusedError(`The host ${host} does not resolve.`, { retryable: true });
  }
  if (!policy.allowPrivate) {
    for (const { address } of addresses) {
      if (!isPublicAddress(address)) {
        throw new UrlRefusedError(
          'The URL resolves to a loopback, private or otherwise non-public address.',
        );
      }
    }
  }
  return addresses[0]!;
}
