import type { FastifyInstance } from 'fastify';
import { statusOfBody } from '../callbacks';
import type { SimulatorContext } from '../context';
import type { SimulatorChannel, SimulatorRecord } from '../recorder';

const INBOX_SIZE = 200;
const PREVIEW_CHARS = 300;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `value` as HTML text: `&<>"'` escaped, `undefined` and `null` as nothing. */
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

/** One column of an inbox table: its heading and what a record shows in it (HTML-escaped when rendered). */
interface Column {
  head: string;
  value: (r: SimulatorRecord) => unknown;
}

const column = (head: string, value: (r: SimulatorRecord) => unknown): Column => ({ head, value });
/** A record field shown as it is, under its own name unless the channel calls it something else. */
const field = (key: keyof SimulatorRecord, head: string = key): Column => column(head, (r) => r[key]);
/** The message text, cut to a preview, under the name its channel gives it. */
const text = (head: string): Column => column(head, (r) => preview(r.body));

/** The tables of the inbox, one a channel; each table starts with the arrival time, then these columns. */
const SECTIONS: { channel: SimulatorChannel; title: string; columns: Column[] }[] = [
  {
    channel: 'email',
    title: 'Email',
    columns: [
      field('provider'),
      field('from'),
      field('to'),
      column('cc / bcc', (r) => [...(r.cc ?? []), ...(r.bcc ?? []).map((b) => `bcc: ${b}`)].join(', ')),
      field('subject'),
      column('body', (r) => preview(r.text ?? (r.html ? stripTags(r.html) : undefined))),
      column('attachments', (r) =>
        (r.attachments ?? []).map((a) => `${a.filename ?? '(unnamed)'} (${a.contentType}, ${a.size} B)`).join(', '),
      ),
    ],
  },
  { channel: 'sms', title: 'SMS', columns: [field('provider'), field('from'), field('to'), text('body')] },
  {
    channel: 'whatsapp',
    title: 'WhatsApp',
    columns: [
      field('from'),
      field('to'),
      field('title', 'template'),
      text('body'),
      column('content', (r) => (r.data ? preview(JSON.stringify(r.data)) : '')),
    ],
  },
  {
    channel: 'push',
    title: 'Push',
    columns: [
      column('token', (r) => preview(r.to)),
      field('title'),
      field('subtitle'),
      text('body'),
      column('data', (r) => (r.data ? preview(JSON.stringify(r.data)) : '')),
    ],
  },
  { channel: 'voice', title: 'Voice', columns: [field('provider'), field('from'), field('to'), text('spoken text')] },
  {
    channel: 'event',
    title: 'Events',
    columns: [
      field('to', 'key'),
      field('title', 'label'),
      column('payload', (r) =>
        preview(JSON.stringify((r.data?.value as { messagePayload?: unknown } | undefined)?.messagePayload ?? {})),
      ),
    ],
  },
];

/** One record as a table row: its arrival time, then the section's columns. */
function renderRow(r: SimulatorRecord, columns: Column[]): string {
  const time = `<td class="t">${escapeHtml(r.receivedAt.slice(11, 23))}</td>`;
  return `<tr>${time}${columns.map((c) => `<td>${escapeHtml(c.value(r))}</td>`).join('')}</tr>`;
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}
h2{font-size:1.1em;margin-top:1.6em}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top;word-break:break-word}
th{background:#f4f4f4}.t{white-space:nowrap;color:#666}.muted{color:#888}`;

/** The inbox page: the newest records, one table a channel, with the counters and the active faults. */
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
    const head = ['time', ...section.columns.map((c) => c.head)];
    parts.push('<table><tr>' + head.map((h) => `<th>${escapeHtml(h)}</th>`).join('') + '</tr>');
    for (const r of rows) parts.push(renderRow(r, section.columns));
    parts.push('</table>');
  }
  const reports = ctx.reports.query().slice(-INBOX_SIZE).reverse();
  parts.push(`<h2>Delivery reports <span class="muted">(${reports.length})</span></h2>`);
  if (reports.length === 0) parts.push('<p class="muted">None yet.</p>');
  else {
    const head = ['scheduled', 'provider', 'kind', 'message id', 'to', 'url', 'outcome', 'attempts'];
    parts.push('<table><tr>' + head.map((h) => `<th>${escapeHtml(h)}</th>`).join('') + '</tr>');
    for (const report of reports) {
      const cells = [
        report.scheduledAt.slice(11, 23),
        report.provider,
        report.kind,
        report.messageId,
        report.to,
        report.url,
        report.error ? `${report.outcome}: ${report.error}` : report.outcome,
        report.attempts,
      ];
      parts.push(`<tr>${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`);
    }
    parts.push('</table>');
  }
  const inbound = ctx.inbound.query(undefined, INBOX_SIZE).reverse();
  parts.push(`<h2>WhatsApp replies <span class="muted">(${escapeHtml(ctx.inbound.size)})</span></h2>`);
  parts.push(
    '<p class="muted">Customers\' answers posted to the inbound URL in Infobip\'s format: ' +
      '<code>PUT /whatsapp/inbound {url}</code>, then <code>POST /whatsapp/reply {messageId | to, from, text}</code>.</p>',
  );
  if (inbound.length === 0) parts.push('<p class="muted">None yet.</p>');
  else {
    const head = ['time', 'from', 'to', 'text', 'in reply to', 'url', 'outcome'];
    parts.push('<table><tr>' + head.map((h) => `<th>${escapeHtml(h)}</th>`).join('') + '</tr>');
    for (const call of inbound) {
      for (const result of call.results) {
        const cells = [
          result.from,
          result.to,
          preview(result.type === 'TEXT' ? result.text : `[${result.type}] ${result.text}`),
          result.pairedMessageId ?? '',
          call.url,
          call.error ? `${call.outcome}: ${call.error}` : call.outcome,
        ];
        const time = `<td class="t">${escapeHtml(call.postedAt.slice(11, 23))}</td>`;
        parts.push(`<tr>${time}${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`);
      }
    }
    parts.push('</table>');
  }
  const callbacks = ctx.callbacks.query(undefined, INBOX_SIZE).reverse();
  const callbackFaults = ctx.callbacks.faultSnapshot();
  parts.push(`<h2>Callbacks caught <span class="muted">(${escapeHtml(ctx.callbacks.size)})</span></h2>`);
  parts.push(
    '<p class="muted">POSTed to <code>/callbacks/:name</code> (or <code>/callbacks</code>); ' +
      '<code>GET /callbacks?name=</code> lists them with their headers and raw bodies.' +
      (Object.keys(callbackFaults).length > 0
        ? ` Active faults: <code>${escapeHtml(JSON.stringify(callbackFaults))}</code>`
        : '') +
      '</p>',
  );
  if (callbacks.length === 0) parts.push('<p class="muted">None yet.</p>');
  else {
    const head = ['time', 'name', 'status', 'signed', 'answered'];
    parts.push('<table><tr>' + head.map((h) => `<th>${escapeHtml(h)}</th>`).join('') + '</tr>');
    for (const call of callbacks) {
      const cells = [
        call.name,
        statusOfBody(call.body) ?? '',
        call.headers['x-signature'] !== undefined ? 'yes' : 'no',
        call.answered,
      ];
      const time = `<td class="t">${escapeHtml(call.receivedAt.slice(11, 23))}</td>`;
      parts.push(`<tr>${time}${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`);
    }
    parts.push('</table>');
  }
  parts.push('</body></html>');
  return parts.join('\n');
}

/** Serves the inbox at `/`; it reloads itself every few seconds. */
export function registerInbox(app: FastifyInstance, ctx: SimulatorContext): void {
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(renderInbox(ctx)));
}
