import { z } from 'zod';

/** What `strictObject` accepts besides its shape. */
export interface StrictObjectOptions<Key extends string> {
  /**
   * Other spellings of a key, accepted and renamed to it, e.g. `{ successEventlabel: 'successEventLabel' }` for Mia's
   * own. Giving both spellings is an error: which one was meant cannot be known.
   */
  aliases?: Record<string, Key>;
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The candidate nearest to `name`, case ignored, when it is near enough to be a typo of it (at most a third of its
 * letters changed, at least 2); `undefined` when none is.
 */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** `unknown key (did you mean X?)`, or the known keys when none is near. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const nearest = nearestName(key, known);
  return nearest ? `unknown key (did you mean ${nearest}?)` : `unknown key (known: ${known.join(', ')})`;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Refuses the keys of an object that are not in `known`, one issue per key at its own path with the nearest known
 * key (`flowManagerConfiguration.successEventlabl: unknown key (did you mean successEventLabel?)`), and renames the
 * `aliases` to their key. A configuration is written by hand: a key that is dropped silently is a setting that
 * silently does nothing. `schema` then parses the object without the unknown keys, so that each is reported once.
 */
export function knownKeysOnly<Key extends string, T extends z.ZodType>(
  known: readonly Key[],
  schema: T,
  options: StrictObjectOptions<Key> = {},
) {
  const aliases = options.aliases ?? {};
  return z.preprocess((value, context) => {
    if (!isPlainObject(value)) return value;
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const target = Object.hasOwn(aliases, key) ? aliases[key] : key;
      if (!(known as readonly string[]).includes(target)) {
        context.issues.push({ code: 'custom', path: [key], message: unknownKeyMessage(key, known), input: value });
      } else if (target !== key && Object.hasOwn(value, target)) {
        context.issues.push({
          code: 'custom',
          path: [key],
          message: `alias of ${target}, which is given too: keep one of them`,
          input: value,
        });
      } else result[target] = item;
    }
    return result;
  }, schema);
}

/**
 * `z.object(shape)` that refuses unknown keys with a suggestion and accepts `aliases` (see `knownKeysOnly`). Its
 * output is `z.object(shape)`'s.
 */
export function strictObject<Shape extends z.core.$ZodLooseShape>(
  shape: Shape,
  options: StrictObjectOptions<Extract<keyof Shape, string>> = {},
) {
  return knownKeysOnly(Object.keys(shape) as Extract<keyof Shape, string>[], z.object(shape), options);
}
