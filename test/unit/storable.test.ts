import { z } from 'zod';
import {
  assertStorableSize,
  findStorageProblem,
  MAX_NESTING,
  MAX_STORED_BYTES,
  refineStorableDocument,
} from '../../api/schemas/storable-schemas';
import { HttpError } from '../../common/domain/http-errors';

/** `{ k: { k: … {} } }` with `levels` objects below the outer one, built without recursion. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 0; level < levels; level++) value = { k: value };
  return value;
}

describe('findStorageProblem (what MongoDB and FerretDB refuse)', () => {
  it('accepts primitives, null, arrays of objects and ordinary names', () => {
    expect(findStorageProblem('text')).toBeUndefined();
    expect(findStorageProblem(null)).toBeUndefined();
    expect(
      findStorageProblem({ name: 'Mario', 'first name': 'M', tags: ['a', 1, null, { price$: 3 }], nested: { a: [] } }),
    ).toBeUndefined();
  });

  it.each([
    [
      'a name starting with $',
      { order: { items: [{ $where: 1 }] } },
      ['order', 'items', 0, '$where'],
      /start with "\$"/,
    ],
    ['a dot in a name', { user: { 'a.b': 1 } }, ['user', 'a.b'], /contain "\."/],
    ['NUL in a name', { 'a\u0000b': 1 }, ['a\u0000b'], /contain NUL/],
    ['a control character in a name', { user: { 'k\u0003': 1 } }, ['user', 'k\u0003'], /control characters/],
    ['a tab in a top-level name', { 'a\tb': 1 }, ['a\tb'], /control characters/],
    ['an empty name', { user: { '': 1 } }, ['user', ''], /must not be empty/],
    ['an array directly inside an array', { matrix: [[1, 2]] }, ['matrix', 0], /arrays directly inside arrays/],
    ['a nested array after other items', { list: [1, { a: 1 }, [2]] }, ['list', 2], /arrays directly inside arrays/],
  ])('finds %s with its path', (_case, value, path, message) => {
    const problem = findStorageProblem(value);
    expect(problem?.path).toEqual(path);
    expect(problem?.message).toMatch(message);
  });

  it(`accepts ${MAX_NESTING} levels of nesting and refuses one more, with the path of the level too deep`, () => {
    expect(findStorageProblem(nested(MAX_NESTING))).toBeUndefined();
    expect(findStorageProblem(nested(MAX_NESTING + 1))).toEqual({
      path: Array.from({ length: MAX_NESTING + 1 }, () => 'k'),
      message: `nested deeper than ${MAX_NESTING} levels`,
    });
  });

  it('counts arrays as levels and puts their indexes in the path', () => {
    const problem = findStorageProblem({ items: [null, nested(MAX_NESTING - 1)] });
    expect(problem?.path).toEqual(['items', 1, ...Array.from({ length: MAX_NESTING - 1 }, () => 'k')]);
    expect(findStorageProblem({ items: [null, nested(MAX_NESTING - 2)] })).toBeUndefined();
  });

  it('answers for a value nested a hundred thousand levels deep without overflowing the stack', () => {
    expect(findStorageProblem(nested(100_000))?.message).toMatch(/nested deeper/);
  });
});

describe('refineStorableDocument (a user stored whole and patched with $set)', () => {
  const schema = z.record(z.string(), z.unknown()).superRefine(refineStorableDocument);
  const issues = (value: Record<string, unknown>) =>
    schema.safeParse(value).error?.issues.map(({ path, message }) => ({ path, message }));

  it.each([
    ['a double quote', 'say "hi"', /must not contain " or \\/],
    ['a backslash', 'back\\slash', /must not contain " or \\/],
    ['a leading space', ' name', /must not start or end with a space/],
    ['a trailing space', 'name ', /must not start or end with a space/],
    ['a trailing tab', 'name\t', /must not start or end with a space/],
    ['a leading NEL', '\u0085name', /must not start or end with a space/],
  ])('refuses a top-level name with %s, naming it', (_case, name, message) => {
    const found = issues({ ok: 1, [name]: 1 });
    expect(found).toHaveLength(1);
    expect(found?.[0].path).toEqual([name]);
    expect(found?.[0].message).toMatch(/^cannot be stored: /);
    expect(found?.[0].message).toMatch(message);
  });

  it('allows quotes and inner spaces below the top level and in the middle of a name', () => {
    expect(issues({ 'first name': 'Mario', profile: { 'say "hi"': 1, ' padded ': 2 } })).toBeUndefined();
  });

  it('still applies the checks of every level', () => {
    expect(issues({ profile: { $set: 1 } })).toEqual([
      { path: ['profile', '$set'], message: 'cannot be stored: field names must not start with "$"' },
    ]);
  });
});

describe('assertStorableSize', () => {
  // BSON of `{ s: <n characters> }`: 4 (size) + 1 (type) + 2 ("s\0") + 4 (length) + n + 1 (NUL) + 1 (end).
  const documentOfSize = (bytes: number) => ({ s: 'x'.repeat(bytes - 13) });

  it('accepts a document of exactly the limit', () => {
    expect(() => assertStorableSize(documentOfSize(MAX_STORED_BYTES))).not.toThrow();
  });

  it('answers 413 for one byte more, with the size in MiB in the message', () => {
    let thrown: unknown;
    try {
      assertStorableSize(documentOfSize(MAX_STORED_BYTES + 1));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HttpError);
    expect((thrown as HttpError).statusCode).toBe(413);
    expect((thrown as HttpError).message).toBe('body: too large to store (15.9 MB as a document, at most 16 MB)');
  });

  it('measures BSON, not JSON: 1.5 million zeros are 3 MB of JSON and 17.5 MB as a document', () => {
    // Each `0,` of the JSON array becomes a type byte, its index as a name and an int32.
    const zeros = new Array<number>(1_500_000).fill(0);
    expect(() => assertStorableSize({ zeros })).toThrow(/too large to store \(17\.5 MB as a document/);
  });
});
