import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError } from '../../common/domain/http-errors';
import { FilesServiceClient } from '../../common/http/files-service-client';

/** The Files Service client (docs/api.md, attachments): a name is a file, never a path segment of the service. */
describe('FilesServiceClient', () => {
  let server: Server;
  let client: FilesServiceClient;
  const requested: string[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      requested.push(request.url ?? '');
      response.end('content');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new FilesServiceClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    await client.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([['.'], ['..']])('refuses %s with a 400 naming emailAttachments, before any request', async (name) => {
    requested.splice(0);
    const download = client.download(name);
    await expect(download).rejects.toBeInstanceOf(HttpError);
    await expect(download).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/^emailAttachments: /),
    });
    expect(requested).toEqual([]);
  });

  it('downloads a file whose name holds dots and slashes, encoded in one path segment', async () => {
    requested.splice(0);
    expect((await client.download('../a..b/.pdf')).content.toString()).toBe('content');
    expect(requested).toEqual(['/download/..%2Fa..b%2F.pdf']);
  });
});
