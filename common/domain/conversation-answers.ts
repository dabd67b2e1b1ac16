import { createContext, runInContext, type Context } from 'node:vm';
import type { AnswerClassification } from '../temporal/conversation-signals';
import type { ConversationRequest } from './conversation-model';

export type { AnswerClassification };

/**
 * How a conversation's answers are classified (docs/whatsapp.md): by the API when it checks
 * `dynamicResponseRegex`, and by the `classifyAnswer` activity, never by the workflow, which must stay deterministic
 * and must not run a caller's regular expression.
 */

/** The longest `dynamicResponseRegex` accepted. */
export const MAX_REGEX_LENGTH = 500;
/**
 * How long one regex test may run, in the API's probes and in the activity. A test that runs out is tried once more
 * before it counts (a pause of the process, a garbage collection, must not fail a regex); a catastrophic one on a
 * 40-character probe would take years, so the margin costs nothing in what is caught.
 */
export const REGEX_TIME_LIMIT_MS = 200;
/** Answers longer than this are matched on their first characters only: a WhatsApp text holds at most 4,096. */
export const MAX_ANSWER_CHARS = 4096;

/** Case and whitespace do not matter: " Order  Received " is "order received". */
export const normalizeAnswer = (text: string): string => text.trim().replace(/\s+/g, ' ').toLowerCase();

/** A regex test in a V8 context of its own whose execution is interrupted after `timeoutMs`. */
export class TimedRegex {
  private readonly context: Context;

  constructor(
    source: string,
    private readonly timeoutMs = REGEX_TIME_LIMIT_MS,
  ) {
    // Compiled inside the sandbox, so that the test runs there, where the time limit applies.
    this.context = createContext({ source, input: '' });
    runInContext('pattern = new RegExp(source)', this.context, { timeout: timeoutMs });
  }

  /** Whether `input` matches; null when the test ran out of time twice (catastrophic backtracking). */
  test(input: string): boolean | null {
    this.context.input = input;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return runInContext('pattern.test(input)', this.context, { timeout: this.timeoutMs }) as boolean;
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw error;
      }
    }
    return null;
  }
}

/**
 * Inputs that make a backtracking regex explode if it can: long runs of one kind of character (letters, digits,
 * spaces, punctuation, mixed) that fail at their very end, which is what nested or overlapping quantifiers
 * (`(a+)+$`, `(\d|\d)*x`, `(.*)*y`) take exponential time to reject.
 */
const PROBE_RUNS = ['a', 'A', '1', '0', ' ', '.', '-', '_', 'x', 'ab', 'a1', '1 ', 'a ', '\t', 'é'];
const PROBE_ENDINGS = ['!', '\u0000', ' ', 'a', '1'];
const PROBE_LENGTH = 40;

export function regexProbes(): string[] {
  return PROBE_RUNS.flatMap((run) => {
    const body = run.repeat(Math.ceil(PROBE_LENGTH / run.length));
    return PROBE_ENDINGS.map((ending) => body + ending);
  });
}

/**
 * Checks a caller's `dynamicResponseRegex` before anything starts: it compiles, is at most `MAX_REGEX_LENGTH`
 * characters, and answers every adversarial probe within the time limit. Returns the problem, or null.
 */
export function regexProblem(source: string): string | null {
  if (source.length > MAX_REGEX_LENGTH) return `at most ${MAX_REGEX_LENGTH} characters`;
  let regex: TimedRegex;
  try {
    regex = new TimedRegex(source);
  } catch (error) {
    return `not a valid regular expression: ${(error as Error).message}`;
  }
  for (const probe of regexProbes()) {
    if (regex.test(probe) === null) {
      return `takes more than ${REGEX_TIME_LIMIT_MS} ms on ${JSON.stringify(probe.slice(0, 12))}… (catastrophic backtracking)`;
    }
  }
  return null;
}

/**
 * The classification of one answer: an exact match (after `normalizeAnswer`) of one of `acceptedResponses[].messages`
 * (the first entry that has it), else a match of `dynamicResponseRegex` within the time limit, else invalid.
 */
export function classifyAnswerText(
  request: Pick<ConversationRequest, 'acceptedResponses' | 'dynamicResponseRegex'>,
  text: string,
  regex?: TimedRegex,
): AnswerClassification {
  const answer = normalizeAnswer(text.slice(0, MAX_ANSWER_CHARS));
  const accepted = request.acceptedResponses.findIndex(({ messages }) =>
    messages.some((message) => normalizeAnswer(message) === answer),
  );
  if (accepted >= 0) return { classification: 'accepted', acceptedResponse: accepted };
  if (request.dynamicResponseRegex === undefined) return { classification: 'invalid' };
  // The regex sees the text as the customer wrote it (trimmed): `^\d{6}$` must match " 123456 ".
  const matched = (regex ?? new TimedRegex(request.dynamicResponseRegex)).test(text.slice(0, MAX_ANSWER_CHARS).trim());
  if (matched === null) return { classification: 'invalid', regexTimedOut: true };
  return matched ? { classification: 'regex' } : { classification: 'invalid' };
}
