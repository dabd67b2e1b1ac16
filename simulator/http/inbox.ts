import type { FastifyInstance } from 'fastify';
import type { SimulatorContext } from '../context';
import type { SimulatorChannel, SimulatorRecord } from '../recorder';

const INBOX_SIZE = 200;
const PREVIEW_CHARS = 300;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  if (value === undefined || value === null) return '';
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

function preview(value: string | undefined): string {
  if (!value) return '';
  return value.length > PREVIEW_CHARS ? value.slice(0, PREVIEW_CHARS) + '…' : value;
}

function stripTags(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function time(r: SimulatorRecord): string {
  return `<td class="t">${escapeHtml(r.receivedAt.slice(11, 23))}</td>`;
}

function cell(value: unknown): string {
  return `<td>${escapeHtml(value)}</td>`;
}

const SECTIONS: { channel: SimulatorChannel; title: string; head: string[]; row: (r: SimulatorRecord) => string }[] = [
  {
    channel: 'email',
    title: 'Email',
    head: ['time', 'from', 'to', 'cc / bcc', 'subject', 'body', 'attachments'],
    row: (r) =>
      time(r) +
      cell(r.from) +
      cell(r.to) +
      cell([...(r.cc ?? []), ...(r.bcc ?? []).map((b) => `bcc: ${b}`)].join(', ')) +
      cell(r.subject) +
      cell(preview(r.text ?? (r.html ? stripTags(r.html) : undefined))) +
      cell((r.attachments ?? []).map((a) => `${a.filename ?? '(unnamed)'} (${a.contentType}, ${a.size} B)`).join(', ')),
  },
  {
    channel: 'sms',
    title: 'SMS',
    head: ['time', 'provider', 'from', 'to', 'body'],
    row: (r) => time(r) + cell(r.provider) + cell(r.from) + cell(r.to) + cell(preview(r.body)),
  },
  {
    channel: 'whatsapp',
    title: 'WhatsApp',
    head: ['time', 'from', 'to', 'template', 'body'],
    row: (r) => time(r) + cell(r.from) + cell(r.to) + cell(r.title) + cell(preview(r.body)),
  },
  {
    channel: 'push',
    title: 'Push',
    head: ['time', 'token', 'title', 'subtitle', 'body', 'data'],
    row: (r) =>
      time(r) +
      cell(preview(r.to)) +
      cell(r.title) +
      cell(r.subtitle) +
      cell(preview(r.body)) +
      cell(r.data ? preview(JSON.stringify(r.data)) : ''),
  },
  {
    channel: 'voice',
    title: 'Voice',
    head: ['time', 'provider', 'from', 'to', 'spoken text'],
    row: (r) => time(r) + cell(r.provider) + cell(r.from) + cell(r.to) + cell(preview(r.body)),
  },
  {
    channel: 'event',
    title: 'Events',
    head: ['time', 'key', 'label', 'payload'],
    row: (r) =>
      time(r) +
      cell(r.to) +
      cell(r.title) +
      cell(preview(JSON.stringify((r.data?.value as { messagePayload?: unknown } | undefined)?.messagePayload ?? {}))),
  },
];

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}
h2{font-size:1.1em;margin-top:1.6em}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top;word-break:break-word}
th{background:#f4f4f4}.t{white-space:nowrap;color:#666}.muted{color:#888}`;

export function renderInbox(ctx: SimulatorContext): string {
  const newestFirst = ctx.recorder.query({}, INBOX_SIZE).reverse();
  const stats = ctx.stats.snapshot();
  const faults = ctx.faults.snapshot();
  const parts: string[] = [
    '<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">',
    `<title>Provider simulator inbox</title><style>${STYLE}</style></head><body>`,
    '<h1>Provider simulator inbox</h1>',
    `<p class="muted">${escapeHtml(ctx.recorder.size)} recorded, showing the newest ${INBOX_SIZE}. ` +
      `Accepted ${escapeHtml(stats.accepted)}, rejected ${escapeHtml(stats.rejected)}, ` +
      `failed by fault ${escapeHtml(stats.failedByFault)}.` +
      (Object.keys(faults).length > 0 ? ` Active faults: <code>${escapeHtml(JSON.stringify(faults))}</code>` : '') +
      '</p>',
  ];
  for (const section of SECTIONS) {
    const rows = newestFirst.filter((r) => r.channel === section.channel);
    parts.push(`<h2>${escapeHtml(section.title)} <span class="muted">(${rows.length})</span></h2>`);
    if (rows.length === 0) {
      parts.push('<p class="muted">Nothing yet.</p>');
      continue;
    }
    parts.push('<table><tr>' + section.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('') + '</tr>');
    for (const r of rows) parts.push(`<tr>${section.row(r)}</tr>`);
    parts.push('</table>');
  }
  parts.push('</body></html>');
  return parts.join('\n');
}

export function registerInbox(app: FastifyInstance, ctx: SimulatorContext): void {
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(renderInbox(ctx)));
}
