import type { FastifyInstance } from 'fastify';
import type { SimulatorContext } from '../context';
import { fastifyStyleError, injectFault } from './util';

interface StoredFile {
  data: Buffer;
  contentType: string;
}

const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

/** A tiny but well-formed one-page PDF, built here so its xref offsets are right. */
export function demoPdf(text: string): Buffer {
  const safe = text.replace(/[\\()]/g, (c) => '\\' + c);
  const stream = `BT /F1 18 Tf 72 720 Td (${safe}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((obj, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${obj}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) pdf += `${String(o).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

const DEMO_TERMS =
  'Terms of Service (demo)\n\n1. This file is served by the provider simulator.\n2. It exists so that templates can attach a text file.\n';

/**
 * Mia's Files Service: `GET /download/:name` serves stored bytes. `PUT`/`DELETE /files/:name`
 * let tests manage the files in memory.
 */
export function registerFilesService(app: FastifyInstance, ctx: SimulatorContext): void {
  const files = new Map<string, StoredFile>([
    ['welcome.pdf', { data: demoPdf('Welcome! Sent by the provider simulator.'), contentType: 'application/pdf' }],
    ['terms.txt', { data: Buffer.from(DEMO_TERMS, 'utf8'), contentType: 'text/plain; charset=utf-8' }],
  ]);

  app.get<{ Params: { name: string } }>('/download/:name', async (request, reply) => {
    ctx.stats.request('files-service');
    if (await injectFault(ctx, 'files', request, reply, (s) => fastifyStyleError(s))) return reply;
    const file = files.get(request.params.name);
    if (!file) return reply.code(404).send(fastifyStyleError(404, `File ${request.params.name} not found`));
    return reply
      .header('content-type', file.contentType)
      .header('content-length', String(file.data.length))
      .header('content-disposition', `attachment; filename="${encodeURIComponent(request.params.name)}"`)
      .send(file.data);
  });

  app.get('/files', async () => ({
    files: [...files].map(([name, f]) => ({ name, size: f.data.length, contentType: f.contentType })),
  }));

  app.delete<{ Params: { name: string } }>('/files/:name', async (request, reply) => {
    if (!files.delete(request.params.name)) {
      return reply.code(404).send(fastifyStyleError(404, `File ${request.params.name} not found`));
    }
    return reply.code(204).send();
  });

  // Uploads take the raw bytes of any content type, so this route gets its own parser scope.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_UPLOAD_BYTES }, (_req, body, done) =>
      done(null, body),
    );
    scope.put<{ Params: { name: string } }>('/files/:name', { bodyLimit: MAX_UPLOAD_BYTES }, async (request, reply) => {
      const data = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const contentType = request.headers['content-type'] ?? 'application/octet-stream';
      files.set(request.params.name, { data, contentType });
      return reply.code(201).send({ name: request.params.name, size: data.length, contentType });
    });
  });
}
