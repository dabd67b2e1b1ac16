import { z } from 'zod';

/** At most this many placeholders per scope (the tenant, or one application). */
export const MAX_PLACEHOLDERS = 100;
/** At most this many characters per placeholder value. */
export const MAX_PLACEHOLDER_VALUE_CHARS = 1000;
/** A placeholder's name: what a template writes between braces, `{{companyName}}`. */
export const PLACEHOLDER_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Names a template reaches otherwise: the scopes' own (`tenant.*`, `app.*`) and the render context's. */
export const RESERVED_PLACEHOLDER_NAMES = ['tenant', 'app', 'user', 'data'] as const;

/** Why `name` cannot be a placeholder's name; undefined when it can. */
function placeholderNameProblem(name: string): string | undefined {
  if (!PLACEHOLDER_NAME.test(name)) return 'must be a letter or _ then letters, digits or _, at most 64 characters';
  if ((RESERVED_PLACEHOLDER_NAMES as readonly string[]).includes(name))
    return `must not be one of ${RESERVED_PLACEHOLDER_NAMES.join(', ')}`;
  return undefined;
}

/** `PUT /placeholders` and `PUT /apps/:appId/placeholders`: the scope's values, replaced whole. */
export const placeholdersBodySchema = z
  .object({
    values: z
      .record(z.string(), z.string().max(MAX_PLACEHOLDER_VALUE_CHARS))
      .refine((values) => Object.keys(values).length <= MAX_PLACEHOLDERS, `at most ${MAX_PLACEHOLDERS} placeholders`)
      .superRefine((values, context) => {
        // Checked here rather than by the record's key schema, whose issue names no reason.
        for (const name of Object.keys(values)) {
          const problem = placeholderNameProblem(name);
          if (problem) context.addIssue({ code: 'custom', path: [name], message: problem });
        }
      })
      .describe(
        `Names (${PLACEHOLDER_NAME.source}) to strings of at most ${MAX_PLACEHOLDER_VALUE_CHARS} characters, at most ${MAX_PLACEHOLDERS}`,
      ),
  })
  .strict();

export const placeholdersSchema = z
  .object({
    scope: z.string().describe('`tenant` or `app:<appId>`'),
    values: z.record(z.string(), z.string()),
    updatedAt: z.date().nullable().describe('null while none were ever set'),
  })
  .describe('The values of this scope');

export const appIdParams = z.object({ appId: z.string().min(1).max(200) });
