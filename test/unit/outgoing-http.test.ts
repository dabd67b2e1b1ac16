import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ForbiddenUrlError,
  isForbiddenAddress,
  OutgoingHttpClient,
  ResponseTooLargeError,
} from '../../common/http/outgoing-http';

/** URLs that callers give are never called on a private network unless the configuration allows it. */
describe('outgoing calls to URLs that callers give', () => {
  let server: Server;
  let port: number;
  const received: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      received.push(request.url ?? '');
      if (request.url === '/redirect') {
        response.writeHead(302, { location: `http://127.0.0.1:${port}/target` });
        return response.end();
      }
      if (request.url === '/large') return response.end('x'.repeat(2048));
      if (request.url === '/never') return; // no answer
      response.end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => received.splice(0));

  it.each([
    ['0.0.0.0'],
    ['10.1.2.3'],
    ['100.64.0.1'],
    ['127.0.0.1'],
    ['127.255.0.9'],
    ['169.254.169.254'],
    ['172.16.0.1'],
    ['172.31.255.255'],
    ['192.168.1.1'],
    ['224.0.0.1'],
    ['::'],
    ['::1'],
    ['fd00::1'],
    ['fe80::1'],
    ['::ffff:127.0.0.1'],
    ['::ffff:10.0.0.1'],
    // NAT64 (RFC 6052, RFC 8215): a translator would reach the IPv4 address in the last 32 bits.
    ['64:ff9b::7f00:1'],
    ['64:ff9b::169.254.169.254'],
    ['64:ff9b::808:808'],
    ['64:ff9b:1::a00:1'],
    ['64:ff9b:1:ffff::1'],
    // IPv4-compatible (deprecated, RFC 4291): `::127.0.0.1`.
    ['::7f00:1'],
    ['::169.254.169.254'],
    ['::a00:1'],
  ])('%s is a forbidden address', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each([
    ['8.8.8.8'],
    ['172.32.0.1'],
    ['100.128.0.1'],
    ['2001:4860:4860::8888'],
    ['::ffff:8.8.8.8'],
    ['64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['64:ff9b:2::1'],
    ['::1:0:0:1'],
  ])('%s is a public address', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it.each([
    ['an IPv4 literal', () => `http://127.0.0.1:${port}/`],
    ['an IPv6 literal', () => `http://[::1]:${port}/`],
    ['a name that resolves to loopback', () => `http://localhost:${port}/`],
  ])('refuses %s before sending anything', async (_what, url) => {
    const client = new OutgoingHttpClient();
    try {
      await expect(client.call(url())).rejects.toThrow(/private address/);
      expect(received).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it.each([['file:///etc/passwd'], ['ftp://example.com/'], ['not a url'], ['http://user:secret@example.com/']])(
    'refuses %s',
    async (url) => {
      const client = new OutgoingHttpClient();
      await expect(client.call(url)).rejects.toBeInstanceOf(ForbiddenUrlError);
      await client.close();
    },
  );

  describe('where private networks are allowed (the development profile)', () => {
    let client: OutgoingHttpClient;
    beforeAll(() => {
      client = new OutgoingHttpClient({ allowPrivateNetworks: true, timeoutMs: 1500, maxResponseBytes: 1024 });
    });
    afterAll(() => client.close());

    it('calls the URL', async () => {
      const response = await client.call(`http://localhost:${port}/ok`);
      expect([response.status, response.body.toString()]).toEqual([200, 'hello']);
    });

    it('does not follow a redirect', async () => {
      const response = await client.call(`http://127.0.0.1:${port}/redirect`);
      expect(response.status).toBe(302);
      expect(received).toEqual(['/redirect']);
    });

    it('stops reading an answer over the size limit', async () => {
      await expect(client.call(`http://127.0.0.1:${port}/large`)).rejects.toBeInstanceOf(ResponseTooLargeError);
    });

    it('gives up on a server that does not answer in time', async () => {
      const started = Date.now();
      await expect(client.call(`http://127.0.0.1:${port}/never`)).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });
});
