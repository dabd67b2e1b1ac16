import { z } from 'zod';
import { HttpError } from '../../common/domain/http-errors';
import { storedSize } from '../../common/store/db';

/**
 * Free-form values (user fields, `data`, `pushData`, a saga's payload) are stored as they come, so they must
 * be storable on both databases the service runs on (docs/internals.md): MongoDB and FerretDB refuse field names that
 * start with `$` or contain `.` (and empty update paths), BSON refuses NUL in a name, FerretDB cannot read back a
 * name with another control character and refuses arrays directly inside arrays, MongoDB more than 100 levels of
 * nesting. Without these checks such bodies reached the database and answered 500 (a megabyte of `[[[…` after two
 * minutes on FerretDB).
 *
 * Nesting is counted from the free-form value, which sits a few levels down in its document (`request.data`).
 */
export const MAX_NESTING = 50;

/** MongoDB's document limit (16 MiB) less room for the fields the service adds around a body. */
export const MAX_STORED_BYTES = 16 * 1024 * 1024 - 64 * 1024;

export interface StorageProblem {
  path: (string | number)[];
  message: string;
}

function fieldNameProblem(name: string): string | undefined {
  if (name === '') return 'field names must not be empty';
  if (name.startsWith('$')) return 'field names must not start with "$"';
  if (name.includes('.')) return 'field names must not contain "."';
  // BSON ends a name at NUL; FerretDB stores the other control characters in a name unescaped, which leaves its
  // SQLite storage unreadable: every later query of the collection fails (found by test/api/fuzz.test.ts).
  if (name.includes('\u0000')) return 'field names must not contain NUL';
  if ([...name].some((character) => character < ' '))
    return 'field names must not contain control characters (U+0001 to U+001F)';
  return undefined;
}

interface Node {
  value: object;
  depth: number;
  key?: string | number;
  parent?: Node;
}

function pathOf(node: Node | undefined, ...rest: (string | number)[]): (string | number)[] {
  const path = rest;
  for (let at = node; at?.parent; at = at.parent) path.unshift(at.key!);
  return path;
}

/**
 * The first thing in `value` that cannot be stored, with its path; undefined when all of it can. Iterative, so a
 * body nested a million levels deep costs one step per level instead of overflowing the stack.
 */
export function findStorageProblem(value: unknown): StorageProblem | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const pending: Node[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (node.depth > MAX_NESTING) return { path: pathOf(node), message: `nested deeper than ${MAX_NESTING} levels` };
    if (Array.isArray(node.value)) {
      for (let index = 0; index < node.value.length; index++) {
        const item: unknown = node.value[index];
        if (Array.isArray(item)) return { path: pathOf(node, index), message: 'arrays directly inside arrays' };
        if (item !== null && typeof item === 'object')
          pending.push({ value: item, depth: node.depth + 1, key: index, parent: node });
      }
      continue;
    }
    for (const [key, item] of Object.entries(node.value)) {
      const problem = fieldNameProblem(key);
      if (problem) return { path: pathOf(node, key), message: problem };
      if (item !== null && typeof item === 'object')
        pending.push({ value: item as object, depth: node.depth + 1, key, parent: node });
    }
  }
  return undefined;
}

/** A zod refinement naming the path of the first value that cannot be stored. */
export function refineStorable(value: unknown, ctx: z.RefinementCtx): void {
  const problem = findStorageProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: `cannot be stored: ${problem.message}` });
}

/** Top-level names are also update paths (`$set`), where FerretDB refuses more. */
function topLevelNameProblem(name: string): string | undefined {
  // Either character breaks FerretDB's SQLite storage of a top-level field ("malformed JSON").
  if (/["\\]/.test(name)) return 'top-level field names must not contain " or \\';
  // FerretDB reads an update path that starts or ends with a space as an empty field name.
  if (/^[\s\u0085]|[\s\u0085]$/.test(name)) return 'top-level field names must not start or end with a space';
  return undefined;
}

/** `refineStorable` for a body stored as a whole document and patched with `$set` (users). */
export function refineStorableDocument(value: unknown, ctx: z.RefinementCtx): void {
  for (const name of Object.keys(value as object)) {
    const problem = topLevelNameProblem(name);
    if (problem) {
      ctx.addIssue({ code: 'custom', path: [name], message: `cannot be stored: ${problem}` });
      return;
    }
  }
  refineStorable(value, ctx);
}

/** An object of any JSON values that can be stored as they are. */
export const storableRecord = z.record(z.string(), z.unknown()).superRefine(refineStorable);

/**
 * 413 when a document built from a body exceeds MongoDB's 16 MB: a 5 MB body of small numbers or empty objects
 * grows several times over as BSON, and the driver would fail with a RangeError.
 */
export function assertStorableSize(document: object): void {
  const bytes = storedSize(document);
  if (bytes > MAX_STORED_BYTES) {
    const megabytes = (bytes / (1024 * 1024)).toFixed(1);
    throw new HttpError(413, `body: too large to store (${megabytes} MB as a document, at most 16 MB)`);
  }
}
