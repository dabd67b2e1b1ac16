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
    .slice(0, format.limit)
    .map((issue) => `${format.prefix ?? ''}${issue.path.map(String).join('.') || format.root}: ${issue.message}`)
    .join('; ');
}
