import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, request } from 'undici';

/**
 * Ranges no URL given by a caller may reach (a callback, a webhook, a media URL to check), unless the configuration
 * allows private networks (the development profile does): loopback, private, link-local (cloud metadata services
 * live at 169.254.169.254), carrier-grade NAT, "this network", multicast and reserved, in IPv4 and IPv6 (IPv4-mapped
 * IPv6 addresses are checked as IPv4). The IPv6 ranges that carry an IPv4 address to a translator (NAT64's
 * `64:ff9b::/96` and `64:ff9b:1::/48`) and the deprecated IPv4-compatible `::/96` are refused whole: a NAT64 gateway
 * would turn `64:ff9b::a9fe:a9fe` into 169.254.169.254 after this check.
 */
const FORBIDDEN_SUBNETS: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  // Holds `::` and `::1` as well.
  ['::', 96, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['64:ff9b:1::', 48, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

const forbidden = new BlockList();
for (const [network, prefix, family] of FORBIDDEN_SUBNETS) forbidden.addSubnet(network, prefix, family);

/** Whether an IP address (v4 or v6) is in a range a caller's URL may not reach. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) throw new Error(`${address} is not an IP address`);
  return forbidden.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Raised before any byte is sent to a URL that is malformed, of another scheme, or resolves to a forbidden address. */
export class ForbiddenUrlError extends Error {
  override name = 'ForbiddenUrlError';
}

/** Raised when an answer is larger than the call allows; the connection is dropped. */
export class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError';
}

/**
 * The connection options of an undici `Agent` whose every connection is checked after DNS resolution: net.connect
 * calls `lookup` for host names (never for IP literals, which `checkOutgoingUrl` checks itself). With `all: true`
 * (Node's happy-eyeballs) every address is checked, since any of them may be used.
 */
export function guardedConnectOptions(allowPrivate: boolean): Agent.Options['connect'] {
  return {
    lookup(hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void) {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error);
        const refused = allowPrivate ? undefined : addresses.find(({ address }) => isForbiddenAddress(address));
        if (refused) {
          return callback(new ForbiddenUrlError(`${hostname} resolves to ${refused.address}, a private address`));
        }
        if (options.all) return callback(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      });
    },
  } as never;
}

/** Checks a URL's form and, for an IP literal, its address; a host name is checked when it resolves. */
export function checkOutgoingUrl(url: string, allowPrivate: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ForbiddenUrlError(`${url} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ForbiddenUrlError(`${url}: only http and https URLs are called`);
  }
  if (parsed.username || parsed.password) throw new ForbiddenUrlError(`${parsed.host}: credentials in a URL`);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && isIP(host) && isForbiddenAddress(host)) {
    throw new ForbiddenUrlError(`${host} is a private address`);
  }
  return parsed;
}

export interface OutgoingHttpOptions {
  /** Allow loopback and private addresses (the development profile, tests). Default false. */
  allowPrivateNetworks?: boolean;
  /** The whole call, connection to last byte. Default 10 000 ms. */
  timeoutMs?: number;
  /** The largest answer body read; a larger one fails the call. Default 1 MiB. */
  maxResponseBytes?: number;
}

export interface OutgoingResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * HTTP to URLs that callers give. The address is checked after DNS resolution, on the address the connection uses
 * (a hostname that resolves to 10.0.0.1 is refused as 10.0.0.1 is), so that a name cannot smuggle a private address
 * past a check of the text. Redirects are not followed (a 3xx is answered as it is), and every call has a time limit
 * and a response size limit.
 */
export class OutgoingHttpClient {
  private readonly agent: Agent;
  private readonly allowPrivate: boolean;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;

  constructor(options: OutgoingHttpOptions = {}) {
    this.allowPrivate = options.allowPrivateNetworks ?? false;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
    this.agent = new Agent({ connections: 16, connect: guardedConnectOptions(this.allowPrivate) });
  }

  private check(url: string): URL {
    return checkOutgoingUrl(url, this.allowPrivate);
  }

  /** One call; a network error, a refused address, a timeout or an oversized answer throws. */
  async call(
    url: string,
    init: { method?: 'GET' | 'HEAD' | 'POST'; headers?: Record<string, string>; body?: string | Buffer } = {},
  ): Promise<OutgoingResponse> {
    const target = this.check(url);
    const response = await request(target, {
      method: init.method ?? 'GET',
      headers: init.headers,
      body: init.body,
      dispatcher: this.agent,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > this.maxResponseBytes) {
        response.body.destroy();
        throw new ResponseTooLargeError(`${target.host} answered more than ${this.maxResponseBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return { status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
