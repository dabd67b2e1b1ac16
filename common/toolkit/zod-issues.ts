import type { z } from 'zod';

/** How `describeIssues` writes a list of issues. */
export interface IssueFormat {
  /** Names an issue about the whole value (an empty path): `body`, `querystring`, `(root)`. */
  root: string;
  /** Written before every issue, e.g. the configuration file an issue is in. Default: nothing. */
  prefix?: string;
  /** At most this many issues; the rest are left out. Default: all of them. */
  limit?: number;
}

/**
 * `path.to.field: message` for each zod issue, `; ` between them, so that a message starts with what is wrong
 * (docs/api.md for requests, docs/configuration.md for the configuration). The API and the configuration both
 * describe their issues with it.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], format: IssueFormat): string {
  return issues
    .flatMap(chosenOptionIssues)
    .slice(0, format.limit)
    .map((issue) => `${format.prefix ?? ''}${issue.path.map(String).join('.') || format.root}: ${issue.message}`)
    .join('; ');
}

/** An issue about the value itself being of another type: how a union's option says "not me". */
const isWrongType = (issue: z.core.$ZodIssue) => issue.code === 'invalid_type' && issue.path.length === 0;

/**
 * A union none of whose options matched says only "Invalid input"; when every option but one refused the value's
 * type (an object or an array of them, say), the value was meant for that one, so its issues are the ones to name.
 */
function chosenOptionIssues(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const meant = issue.errors.filter((option) => !option.every(isWrongType));
  if (meant.length !== 1) return [issue];
  return meant[0].flatMap((inner) => chosenOptionIssues({ ...inner, path: [...issue.path, ...inner.path] }));
}
