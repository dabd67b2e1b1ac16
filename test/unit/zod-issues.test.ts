import { z } from 'zod';
import { describeIssues } from '../../common/toolkit/zod-issues';

const item = z.strictObject({ name: z.string(), size: z.number() });
const oneOrMany = z.union([item, z.array(item).min(1)]);
const messageFor = (value: unknown) => describeIssues(oneOrMany.safeParse(value).error?.issues ?? [], { root: 'body' });

describe('describeIssues', () => {
  it("names the issues of the one union option whose type the value has, each item's by its index", () => {
    expect(
      messageFor([
        { name: 'a', size: 1 },
        { name: 3, size: 2 },
      ]),
    ).toBe('1.name: Invalid input: expected string, received number');
    expect(messageFor({ name: 'a' })).toBe('size: Invalid input: expected number, received undefined');
  });

  it("keeps the union's own issue when no option, or several, took the value", () => {
    expect(messageFor(5)).toBe('body: Invalid input');
    const either = z.union([z.object({ a: z.string() }), z.object({ b: z.string() })]);
    expect(describeIssues(either.safeParse({}).error?.issues ?? [], { root: 'body' })).toBe('body: Invalid input');
  });
});
