import { Agent, request } from 'undici';
import { HttpError } from '../domain/http-errors';

/** Mia's limit on the attachments of one send, summed (docs/api.md). */
export const MAX_ATTACHMENTS_BYTES = 15 * 1024 * 1024;

export interface DownloadedFile {
  filename: string;
  content: Buffer;
  contentType?: string;
}

/**
 * Whether `name` may name a file of the Files Service: `.` and `..` are path segments that a URL resolves
 * (`/download/..` is `/`), so they would reach the service's other routes instead of a file.
 */
export const isFilesServiceName = (name: string): boolean => name !== '.' && name !== '..';

/** Why a name is refused (`isFilesServiceName`), after the field that holds it. */
export const NOT_A_FILE_NAME = 'must name a file: "." and ".." are refused';

/** The Files Service (`GET {FILE_SERVICE_URL}/download/{name}`): attachments are fetched from it by name. */
export class FilesServiceClient {
  private readonly agent = new Agent({ connections: 8, headersTimeout: 15000, bodyTimeout: 30000 });

  constructor(private readonly baseUrl: string | undefined) {}

  get configured(): boolean {
    return this.baseUrl !== undefined;
  }

  /**
   * Downloads one file. Missing files are `HttpError(400)` naming the file (the API's answer as-is); other
   * failures are plain errors (the activity retries them).
   * @param byteBudget stop reading past this many bytes and report the file as too large
   */
  async download(name: string, byteBudget = MAX_ATTACHMENTS_BYTES): Promise<DownloadedFile> {
    if (!this.baseUrl) throw new HttpError(400, 'emailAttachments: FILE_SERVICE_URL is not configured');
    // Also here, not only in the API's schemas: a template's attachments may be written to MongoDB directly.
    if (!isFilesServiceName(name)) throw new HttpError(400, `emailAttachments: "${name}" ${NOT_A_FILE_NAME}`);
    const url = `${this.baseUrl.replace(/\/+$/, '')}/download/${encodeURIComponent(name)}`;
    const response = await request(url, { method: 'GET', dispatcher: this.agent });
    if (response.statusCode === 404) {
      await response.body.dump();
      throw new HttpError(400, `emailAttachments: file ${name} does not exist in the Files Service`);
    }
    if (response.statusCode >= 300) {
      await response.body.dump();
      throw new Error(`Files Service answered ${response.statusCode} for ${name}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += chunk.length;
      if (size > byteBudget) {
        response.body.destroy();
        throw new HttpError(400, `emailAttachments: attachments exceed the 15 MB limit (at ${name})`);
      }
      chunks.push(chunk as Buffer);
    }
    const contentType = response.headers['content-type'];
    return {
      filename: name,
      content: Buffer.concat(chunks),
      contentType: typeof contentType === 'string' ? contentType : undefined,
    };
  }

  /** Downloads every file within the shared 15 MB budget; the API uses it to refuse bad attachments up front. */
  async downloadAll(names: string[]): Promise<DownloadedFile[]> {
    const files: DownloadedFile[] = [];
    let remaining = MAX_ATTACHMENTS_BYTES;
    for (const name of names) {
      const file = await this.download(name, remaining);
      remaining -= file.content.length;
      files.push(file);
    }
    return files;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
