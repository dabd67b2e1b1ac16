import pino, { type Logger, type LoggerOptions } from 'pino';
import type { ServiceConfig } from './config';

/** What a log line holds instead of a named field's value (docs/internals.md "Logs"). */
export const REDACTED = '[redacted]';

/**
 * Fields whose values never reach a log, at any depth, compared without case, `-` and `_`: credentials, a user's
 * addresses and a message's content. `message` is not one of them: it is an error's text, masked by pattern instead.
 */
const REDACTED_FIELDS = [
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'api-keys',
  'password',
  'pass',
  'secret',
  'client-secret',
  'private-key',
  'credentials',
  'token',
  'access-token',
  'refresh-token',
  'auth-token',
  'task-token',
  'device-token',
  'registration-token',
  'email',
  'email-address',
  'phone',
  'phone-number',
  'to',
  'cc',
  'bcc',
  'recipient',
  'receiver',
  'subject',
  'title',
  'subtitle',
  'text',
  'html',
  'body',
  'content',
  'message-title',
  'message-content',
];

const fieldKey = (name: string) => name.toLowerCase().replace(/[-_]/g, '');

/**
 * Free text (log messages, error messages and stacks, request URLs) cannot be redacted by field: these patterns mask
 * what in it is personal or secret. Applied in order: a URL's user information before the emails it may contain.
 * What precedes an anchor (`://`, `@`, `:APA91b`) has a bounded length, so a long run of word characters (a blob in
 * an error) costs linear time, not quadratic.
 */
const MASKS: [RegExp, string][] = [
  // `smtp://user:password@host`, `mongodb://user:password@host`: up to the last `@` of the authority, since the
  // user may be an address too.
  [/\b([a-z][a-z0-9+.-]{0,31}:\/\/)[^\s/?#]+@/gi, `$1${REDACTED}@`],
  [/\b(Bearer|Basic)\s+[\w.~+/=-]+/gi, `$1 ${REDACTED}`],
  [/([?&](?:api[-_]?key|key|token|access[-_]?token|password|secret|signature|sig)=)[^&\s#"]+/gi, `$1${REDACTED}`],
  // The local part leaves out `/`, `=`, `&`, `?` and quotes, which are rare in addresses and surround them in paths,
  // query strings and messages; the domain ends with a letter, so `package@1.2.3` in a stack is no address.
  [/[\w.!#$%*+^`{|}~-]{1,64}(?:@|%40)[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?![\w-])/gi, '[email]'],
  // FCM registration tokens (`<instance id>:APA91b…`); other device tokens have no shape to find them by.
  [/[\w-]{8,64}:APA91b[\w-]{20,}/g, '[device token]'],
  // International numbers as providers quote them (`+39 333 123 4567`), and bare runs of 8 to 15 digits. Hyphens,
  // dots, colons and slashes next to a run leave it alone: dates, times, versions, addresses and UUID parts.
  [/(?<![\w.:/-])\+\d[\d ().-]{5,20}\d(?![\w.:/-])/g, '[phone]'],
  [/(?<![\w.:/+-])\d{8,15}(?![\w.:/-])/g, '[phone]'],
];

/** The text with every email address, phone number, credential in a URL and bearer token replaced. */
export function maskPersonalData(text: string): string {
  return MASKS.reduce((masked, [pattern, replacement]) => masked.replace(pattern, replacement), text);
}

/** A copy of a parsed log line with named fields redacted and free text masked, at any depth. */
function redactValue(value: unknown, redactedFields: Set<string>): unknown {
  if (typeof value === 'string') return maskPersonalData(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, redactedFields));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [
      key,
      redactedFields.has(fieldKey(key)) ? REDACTED : redactValue(field, redactedFields),
    ]),
  );
}

/** The names a configuration gives the users' addresses (`userFields`), to redact beside the built-in ones. */
export const userAddressFields = (fields: ServiceConfig['userFields']): string[] => [
  fields.emailAddress,
  fields.phoneNumber,
  fields.deviceToken,
];

/** Options of `loggerOptions` and `createLogger`. */
export interface RedactionOptions {
  /**
   * More field names to redact, e.g. the configuration's `userFields` when a deployment renames `deviceToken`.
   * Default: none beyond the built-in list (credentials, addresses, device tokens, message content).
   */
  redactFields?: string[];
}

/**
 * pino options whose every line is redacted as it is written: after serializers ran (an error's message and stack,
 * fastify's request URL), each field named in the list is replaced by `[redacted]` and every string is masked
 * (`maskPersonalData`). pino's `redact` paths name fixed positions; SDK error objects and request URLs need the
 * whole line. Costs a parse per line, which the line rate (one per batch at `info`) affords.
 */
export function loggerOptions(level: string, options: RedactionOptions = {}): LoggerOptions {
  const redactedFields = new Set([...REDACTED_FIELDS, ...(options.redactFields ?? [])].map(fieldKey));
  return {
    level,
    hooks: {
      streamWrite(line) {
        try {
          return `${JSON.stringify(redactValue(JSON.parse(line), redactedFields))}\n`;
        } catch {
          // Not JSON (pino writes none such): masked as text rather than lost.
          return maskPersonalData(line);
        }
      },
    },
  };
}

/** Structured logs, one line per event: ids and channels, never addresses or message bodies. */
export function createLogger(
  name: string,
  level = process.env.LOG_LEVEL ?? 'info',
  options: RedactionOptions = {},
): Logger {
  return pino({ name, ...loggerOptions(level, options) });
}
