/**
 * Raised when the configuration is invalid. `problems` lists each thing to fix (a variable, a JSON path, the settings
 * of a provider); the message names them all, so that one refused boot says everything to fix, not only the first.
 */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
  /** Each problem, as the message names it: `TEMPORAL_CODEC_KEYS: required (…)`. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    // One problem reads as it is; several as a list, one a line, counted so that none is overlooked.
    super(
      list.length === 1 ? list[0] : `${list.length} configuration problems:\n${list.map((p) => `- ${p}`).join('\n')}`,
    );
    this.problems = list;
  }
}

/** What each check of `checkEvery` resolves to, in the order of the checks. */
type CheckResults<T extends readonly (() => unknown)[]> = { -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> };

/**
 * Runs every boot check, the ones after a failed check too, and throws one `ConfigurationError` naming the problems
 * of all of them, in the order of the checks; resolves to their results when none fails. A check refuses by throwing
 * a `ConfigurationError`; any other error is not the configuration's fault and is thrown as it is.
 */
export async function checkEvery<const T extends readonly (() => unknown)[]>(checks: T): Promise<CheckResults<T>> {
  const settled = await Promise.allSettled(checks.map(async (check) => check()));
  const unexpected = settled.find(
    (outcome) => outcome.status === 'rejected' && !(outcome.reason instanceof ConfigurationError),
  );
  if (unexpected?.status === 'rejected') throw unexpected.reason;
  const problems = settled.flatMap((outcome) =>
    outcome.status === 'rejected' ? (outcome.reason as ConfigurationError).problems : [],
  );
  if (problems.length > 0) throw new ConfigurationError(problems);
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as CheckResults<T>;
}
