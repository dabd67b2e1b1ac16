import Handlebars from 'handlebars';
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc';
import timezone from 'dayjs/plugin/timezone';
import customParseFormat from 'dayjs/plugin/customParseFormat';
import { registerAllowedHelpers } from './template-helpers';

dayjs.extend(utc);
dayjs.extend(timezone);
dayjs.extend(customParseFormat);

/** The default output cap of one message, in UTF-8 bytes (`RENDER_MAX_OUTPUT_BYTES`). */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

export type RenderContext = { user: Record<string, unknown>; data: Record<string, unknown> };
export type CompiledTemplate = (context: RenderContext) => string;

/** Thrown for a template that does not compile; the API answers 400 naming `field`. */
export class TemplateSyntaxError extends Error {
  override name = 'TemplateSyntaxError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field} is not a valid Handlebars template: ${message}`);
  }
}

function loadLocale(locale: string): string {
  if (locale === 'en') return 'en';
  try {
    require(`dayjs/locale/${locale}`);
    return locale;
  } catch {
    return 'en';
  }
}

/**
 * An isolated Handlebars instance (never the global one) with the helpers of docs/api.md "Rendering": `dateNow`,
 * `dateFormat date format=... tz=...` (dayjs; defaults ISO 8601 and UTC) and the allowed helpers of
 * `common/rendering/template-helpers.ts`, none other (Handlebars' `log` included). A helper's string result over
 * `maxOutputChars` stops the render.
 */
export function createHandlebars(locale = 'en', maxOutputChars = DEFAULT_MAX_OUTPUT_BYTES): typeof Handlebars {
  const instance = Handlebars.create();
  registerAllowedHelpers(instance, maxOutputChars);
  const dayjsLocale = loadLocale(locale);
  instance.registerHelper('dateNow', () => new Date().toISOString());
  instance.registerHelper('dateFormat', (date: unknown, options: Handlebars.HelperOptions) => {
    const { format, tz = 'UTC' } = (options?.hash ?? {}) as { format?: string; tz?: string };
    const parsed = dayjs(date as string | number | Date);
    if (!parsed.isValid()) return '';
    let zoned: dayjs.Dayjs;
    try {
      zoned = parsed.tz(tz);
    } catch {
      zoned = parsed.utc();
    }
    return format ? zoned.locale(dayjsLocale).format(format) : zoned.format();
  });
  return instance;
}

/**
 * Partials and decorators are refused: none is registered, and an inline partial that calls itself (twice) is
 * recursion, or exponential output, written by the caller.
 */
class PartialsRefused extends Handlebars.Visitor {
  override PartialStatement(): void {
    throw new Error('partials are not supported');
  }
  override PartialBlockStatement(): void {
    throw new Error('partials are not supported');
  }
  override DecoratorBlock(): void {
    throw new Error('decorators (inline partials) are not supported');
  }
  override Decorator(): void {
    throw new Error('decorators are not supported');
  }
}

const VALID_SOURCES_KEPT = 1000;

/** The helpers Handlebars' compiler treats as known unless told otherwise. */
const ALWAYS_KNOWN = ['helperMissing', 'blockHelperMissing', 'each', 'if', 'unless', 'with', 'log', 'lookup'];

/** Renders message text; `html` escapes interpolated values (email HTML), plain text (sms, push, voice) does not. */
export class MessageRenderer {
  private readonly handlebars: typeof Handlebars;
  /** Every registered helper, for `knownHelpersOnly`; built once, there are about two hundred. */
  private readonly knownHelpers: Record<string, boolean>;
  private readonly validSources = new Set<string>();

  /** @param maxOutputChars a helper's string result over it stops the render (the output cap, in the render pool) */
  constructor(locale = 'en', maxOutputChars = DEFAULT_MAX_OUTPUT_BYTES) {
    this.handlebars = createHandlebars(locale, maxOutputChars);
    // Handlebars adds its own built-ins to `knownHelpers` unless they are named false: `log` is not registered.
    this.knownHelpers = {
      ...Object.fromEntries(ALWAYS_KNOWN.map((name) => [name, false])),
      ...Object.fromEntries(Object.keys(this.handlebars.helpers).map((name) => [name, true])),
    };
  }

  /**
   * Compiles once per send. Syntax errors and unknown helpers are found here, at request time, rather than at
   * the first recipient: `precompile` with `knownHelpersOnly` rejects both without running any helper.
   */
  compile(field: string, source: string, options: { html?: boolean } = {}): CompiledTemplate {
    this.check(field, source);
    const template = this.environmentFor(source).compile(source, { noEscape: !options.html });
    return (context) => template(context);
  }

  /**
   * Checks that `source` compiles with the registered helpers and no partials, running none of it.
   * @throws TemplateSyntaxError naming `field`
   */
  check(field: string, source: string): void {
    if (!this.validSources.has(source)) {
      try {
        new PartialsRefused().accept(Handlebars.parse(source));
        this.handlebars.precompile(source, { knownHelpers: this.knownHelpers, knownHelpersOnly: true });
      } catch (error) {
        throw new TemplateSyntaxError(field, (error as Error).message.split('\n').slice(0, 2).join(' '));
      }
      // The same titles and templates come back request after request; checking them once is enough.
      if (this.validSources.size >= VALID_SOURCES_KEPT) this.validSources.clear();
      this.validSources.add(source);
    }
  }

  /**
   * A Handlebars environment with only the helpers `source` names (and the built-in ones). Handlebars wraps every
   * helper of its environment on every call of a template; with the two hundred of handlebars-helpers that was the
   * largest cost of rendering, paid once per recipient (measured with --cpu-prof on a 100k send: 3.6 of the worker's
   * 49 CPU-seconds). A helper is called by its name, so one the source does not contain cannot be needed; a word
   * that only looks like a helper's name adds it for nothing.
   */
  private environmentFor(source: string): typeof Handlebars {
    const environment = Handlebars.create();
    // Its own built-ins (`log` among them) go; Handlebars calls the two `Missing` ones by itself, not by name.
    for (const name of Object.keys(environment.helpers)) environment.unregisterHelper(name);
    for (const name of ['helperMissing', 'blockHelperMissing']) {
      environment.registerHelper(name, this.handlebars.helpers[name]);
    }
    for (const word of new Set(source.match(/[A-Za-z_$][\w$-]*/g) ?? [])) {
      if (Object.hasOwn(this.handlebars.helpers, word) && !Object.hasOwn(environment.helpers, word)) {
        environment.registerHelper(word, this.handlebars.helpers[word]);
      }
    }
    return environment;
  }
}

/**
 * The fields of `user` a template reads, or `'all'` when it may read the whole document (`{{#each user}}`,
 * `{{#with user}}`, `{{this}}`, a `../` path): the render pool sends a thread only these, as a render reads nothing
 * else of the user. A `user.x` path inside another context (`{{#with data}}{{user.x}}{{/with}}`) only adds a field.
 */
export function userFieldsOf(source: string): string[] | 'all' {
  const fields = new Set<string>();
  let all = false;
  const visitor = new Handlebars.Visitor();
  visitor.PathExpression = (path: hbs.AST.PathExpression) => {
    const parts = path.data ? (path.parts[0] === 'root' ? path.parts.slice(1) : undefined) : path.parts;
    if (parts === undefined) return; // @index, @key, @first, ...: not the user
    if (parts.length === 0 || path.depth > 0 || (parts[0] === 'user' && parts.length === 1)) all = true;
    else if (parts[0] === 'user') fields.add(String(parts[1]));
  };
  visitor.accept(Handlebars.parse(source));
  return all ? 'all' : [...fields];
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A plain-text email becomes HTML: escaped, newlines as `<br/>` (docs/api.md "Rendering"). */
export function plainTextToHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]).replace(/\r?\n/g, '<br/>');
}
