import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Why a webhook URL may not be called; the message is written for the client that sent it. */
export class WebhookRefusedError extends Error {
  override name = 'WebhookRefusedError';
}

/**
 * Addresses a webhook must never reach unless its host is allow-listed: "this network",
 * loopback, private (RFC 1918, ULA), carrier-grade NAT, link-local (which holds the cloud
 * metadata services, 169.254.169.254 and fd00:ec2::254 alike), benchmarking, documentation,
 * multicast and reserved ranges, and IPv6 forms that embed an IPv4 address (compatible, mapped,
 * translated, NAT64, 6to4, Teredo: all of 2001::/23, the IETF protocol assignments), so a private
 * IPv4 address cannot be smuggled in IPv6 notation.
 */
const nonPublic = (() => {
  // Two lists: one BlockList would match every IPv4 address against the IPv4-mapped IPv6 range.
  const ipv4 = new BlockList();
  const ipv6 = new BlockList();
  const v4: [string, number][] = [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.88.99.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ];
  const v6: [string, number][] = [
    ['::', 96],
    ['::ffff:0:0', 96],
    ['::ffff:0:0:0', 96],
    ['64:ff9b::', 96],
    ['64:ff9b:1::', 48],
    ['100::', 64],
    ['2001::', 23],
    ['2001:db8::', 32],
    ['2002::', 16],
    ['fc00::', 7],
    ['fe80::', 10],
    ['fec0::', 10],
    ['ff00::', 8],
  ];
  for (const [net, prefix] of v4) ipv4.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of v6) ipv6.addSubnet(net, prefix, 'ipv6');
  return { ipv4, ipv6 };
})();

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return family === 4 ? !nonPublic.ipv4.check(address, 'ipv4') : !nonPublic.ipv6.check(address, 'ipv6');
}

/** A checked webhook target: the URL and the one address the request must go to. */
export interface WebhookTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

export type ResolveAll = (hostname: string) => Promise<{ address: string; family: number }[]>;

const resolveAll: ResolveAll = (hostname) => lookup(hostname, { all: true, verbatim: true });

/**
 * Checks a webhook URL and resolves it to the address to connect to. https only, and every
 * address the name resolves to must be public (one private answer among public ones is refused:
 * the client cannot tell which one a later lookup returns). Hosts in `allowHosts` skip the
 * address check and may use plain http. The caller connects to the returned address only (see
 * postWebhook), so a second DNS answer (rebinding) cannot redirect the request.
 */
export async function resolveWebhookTarget(
  raw: string,
  allowHosts: readonly string[],
  resolve: ResolveAll = resolveAll,
): Promise<WebhookTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookRefusedError('is not an absolute URL');
  }
  if (url.username || url.password) throw new WebhookRefusedError('must not carry credentials in the URL');
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const allowed = allowHosts.includes(hostname);
  if (url.protocol !== 'https:' && !(allowed && url.protocol === 'http:')) {
    // Names the exact host compared: `localhost` on the list does not cover 127.0.0.1, nor the reverse.
    throw new WebhookRefusedError(
      `must use https (got ${url.protocol.replace(/:$/, '')}): plain http is allowed only to hosts in ` +
        `WEBHOOK_ALLOW_HOSTS, and "${hostname}" is not one of them ` +
        `(${allowHosts.length ? `the list: ${allowHosts.join(', ')}` : 'the list is empty'})`,
    );
  }
  let addresses: { address: string; family: number }[];
  if (isIP(hostname) !== 0) addresses = [{ address: hostname, family: isIP(hostname) }];
  else {
    try {
      addresses = await resolve(hostname);
    } catch {
      throw new WebhookRefusedError(`host ${hostname} does not resolve`);
    }
  }
  if (addresses.length === 0) throw new WebhookRefusedError(`host ${hostname} does not resolve`);
  if (!allowed) {
    const blocked = addresses.find((a) => !isPublicAddress(a.address));
    if (blocked)
      throw new WebhookRefusedError(
        `host ${hostname} resolves to a non-public address (${blocked.address}); only public addresses may be called`,
      );
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
