import Handlebars from 'handlebars';
// The maintained fork of handlebars-helpers (the original is unmaintained since 2017).
import handlebarsHelpers from '@budibase/handlebars-helpers';

/**
 * The helpers a template may call, by group, each read helper by helper (docs/api.md "Rendering"). Templates come from
 * API callers, and the worker that renders them holds every provider credential: a helper stays only if it cannot reach
 * a prototype (no property path the template names, no write into a value), the file system, the environment or the
 * network, and if its work and output are bounded by its input. What no helper can bound (a nested `each` over large
 * data) the render pool's time budget and output cap do (`common/rendering/render-pool.ts`).
 *
 * Left out, with why:
 * - Handlebars' `log`: prints its arguments, whole user documents, past the log redaction.
 * - `object` (`get`, `merge`, `extend`, `JSONparse`, ...): reads and writes property paths the template names, which
 *   reach `__proto__` (`{{merge (get "__proto__" data) ...}}` polluted `Object.prototype` of the worker).
 * - `regex` (`test`, `toRegex`): a regular expression the template writes can backtrack for hours.
 * - array `filter`, `pluck`, `sortBy`, `withSort`: read a property path the template names (get-value follows
 *   `__proto__` and `constructor`); `forEach` and collection `iterate`: write `index`, `total`, ... into each item,
 *   so into a prototype handed to them; `map`, `some`: call a function argument, which no template can give.
 * - string `center`: pads with as many `&nbsp;` as the template asks (80 million in one call); `occurrences`: loops
 *   forever on an empty substring; `chop` and the case changers built on it (`camelcase`, `dashcase`, `dotcase`,
 *   `pascalcase`, `pathcase`, `snakecase`): `chop`'s `[-_.\W\s]+$` backtracks quadratically on a long run of
 *   punctuation; `raw`: prints template syntax, of no use in a message.
 * - misc `frame`, `option`: read the template's data frame and options by a path the template names.
 * - url `urlParse`: hands the template a `Url` object, not text.
 * - the `fs`, `code`, `path`, `html`, `i18n`, `match` groups: files, markup, globs, locales; never registered.
 */
export const ALLOWED_HELPERS = {
  /** Handlebars' own: their property lookups go through Handlebars' prototype-access checks (own properties only). */
  handlebars: ['if', 'unless', 'each', 'with', 'lookup', 'blockHelperMissing', 'helperMissing'],
  /** Read an array the template is given, slice or join it; block forms iterate it once. */
  array: [
    'after',
    'arrayify',
    'before',
    'eachIndex',
    'first',
    'inArray',
    'isArray',
    'itemAt',
    'join',
    'equalsLength',
    'last',
    'length',
    'lengthEqual',
    'reverse',
    'sort',
    'unique',
    'withAfter',
    'withBefore',
    'withFirst',
    'withGroup',
    'withLast',
  ],
  /** `isEmpty` counts own keys. */
  collection: ['isEmpty'],
  /** Compare values; `has` with one argument answers true/false for a path, never the value at it. */
  comparison: [
    'and',
    'compare',
    'contains',
    'default',
    'eq',
    'gt',
    'gte',
    'has',
    'isFalsey',
    'isTruthy',
    'ifEven',
    'ifNth',
    'ifOdd',
    'is',
    'isnt',
    'lt',
    'lte',
    'neither',
    'not',
    'or',
    'unlessEq',
    'unlessGt',
    'unlessLt',
    'unlessGteq',
    'unlessLteq',
  ],
  /** Pick a word by a count. */
  inflection: ['inflect', 'ordinalize'],
  /** Arithmetic on numbers. */
  math: [
    'abs',
    'add',
    'avg',
    'ceil',
    'divide',
    'floor',
    'minus',
    'modulo',
    'multiply',
    'plus',
    'random',
    'remainder',
    'round',
    'subtract',
    'sum',
  ],
  /** `noop` renders its block; `typeOf` names a type; `withHash` renders its block with the hash the template wrote. */
  misc: ['noop', 'typeOf', 'withHash'],
  /** Format a number (`toFixed` and `toPrecision` refuse more than 100 digits). */
  number: [
    'bytes',
    'addCommas',
    'phoneNumber',
    'toAbbr',
    'toExponential',
    'toFixed',
    'toFloat',
    'toInt',
    'toPrecision',
  ],
  /** Change or cut a string; `lorem` is at most its fixed text. Amplifiers (`replace`, `join`) meet the output cap. */
  string: [
    'append',
    'capitalize',
    'capitalizeAll',
    'downcase',
    'ellipsis',
    'hyphenate',
    'isString',
    'lowercase',
    'plusify',
    'prepend',
    'remove',
    'removeFirst',
    'replace',
    'replaceFirst',
    'sentence',
    'split',
    'startsWith',
    'titleize',
    'trim',
    'trimLeft',
    'trimRight',
    'truncate',
    'truncateWords',
    'upcase',
    'uppercase',
    'lorem',
  ],
  /** Encode, decode and cut URLs as text. */
  url: ['encodeURI', 'escape', 'decodeURI', 'urlResolve', 'stripQuerystring', 'stripProtocol'],
  uuid: ['uuid'],
} as const;

/** The handlebars-helpers groups the allowed helpers come from. */
const HELPER_GROUPS = [
  'array',
  'collection',
  'comparison',
  'inflection',
  'math',
  'misc',
  'number',
  'string',
  'url',
  'uuid',
];

type Helper = (...args: unknown[]) => unknown;

/**
 * Our own versions of helpers whose library code does unbounded work on data, with the library's results:
 * `trimRight`'s `/\s+$/` and `addCommas`' `(?=(\d\d\d)+(?!\d))` backtrack quadratically on long runs of spaces or
 * digits; `unique`'s `indexOf` per item is quadratic in the array's length.
 */
const REPLACEMENTS: Record<string, Helper> = {
  trimRight: (text) => (typeof text === 'string' ? text.trimEnd() : undefined),
  addCommas: (value) =>
    String(value).replace(/\d+/g, (digits) => {
      const head = digits.length % 3 || 3;
      const groups = [digits.slice(0, head)];
      for (let at = head; at < digits.length; at += 3) groups.push(digits.slice(at, at + 3));
      return groups.join(',');
    }),
  unique: (array) => (Array.isArray(array) ? [...new Set(array)] : ''),
};

/** Thrown when a helper's output, or the message, is over the output cap: the delivery fails with `RENDER_LIMIT`. */
export class RenderLimitError extends Error {
  override name = 'RenderLimitError';
}

/** Every allowed helper's name. */
export const ALLOWED_HELPER_NAMES: readonly string[] = Object.values(ALLOWED_HELPERS).flat();

let libraryHelpers: Record<string, Helper> | undefined;

/** The library's helpers, loaded once into a throwaway instance that no template ever sees. */
function loadLibraryHelpers(): Record<string, Helper> {
  libraryHelpers ??= { ...handlebarsHelpers(HELPER_GROUPS, { handlebars: Handlebars.create() }) } as Record<
    string,
    Helper
  >;
  return libraryHelpers;
}

/**
 * Registers exactly the allowed helpers on `instance` (and removes Handlebars' own that are not), each wrapped so
 * that a string it returns over `maxOutputChars` stops the render: an amplifying helper (`replace`, `join`, a block
 * helper's loop) fails as soon as its result is too large, instead of after the whole message is built. A string or
 * array argument longer than `maxOutputChars` stops it too.
 */
export function registerAllowedHelpers(instance: typeof Handlebars, maxOutputChars: number): void {
  const library = loadLibraryHelpers();
  const builtIn = { ...instance.helpers } as Record<string, Helper>;
  for (const name of Object.keys(instance.helpers)) instance.unregisterHelper(name);
  for (const name of ALLOWED_HELPER_NAMES) {
    const helper = REPLACEMENTS[name] ?? builtIn[name] ?? library[name];
    if (typeof helper !== 'function') throw new Error(`allowed helper ${name} is not in handlebars-helpers`);
    instance.registerHelper(name, capped(name, helper, maxOutputChars));
  }
}

function capped(name: string, helper: Helper, maxOutputChars: number): Helper {
  return function (this: unknown, ...args: unknown[]) {
    // Nor is a helper given more: what it builds from a huge string or array (`split`, `length`'s key list) can be
    // one allocation larger than a render thread's heap allowance, which ends the process, not only the thread.
    for (const arg of args) {
      if ((typeof arg === 'string' || Array.isArray(arg)) && arg.length > maxOutputChars) {
        throw new RenderLimitError(`helper ${name} was given more than ${maxOutputChars} characters or items`);
      }
    }
    const result = helper.apply(this, args);
    if (typeof result === 'string' && result.length > maxOutputChars) {
      throw new RenderLimitError(`helper ${name} produced more than ${maxOutputChars} characters`);
    }
    return result;
  };
}
