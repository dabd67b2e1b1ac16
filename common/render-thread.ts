import Handlebars from 'handlebars';
import { parentPort, workerData } from 'node:worker_threads';
import { MessageRenderer, type CompiledTemplate, type RenderContext } from './rendering';
import type { RenderOutcome, RenderTask, RenderThreadData, RenderThreadResult } from './render-pool';
import { RenderLimitError } from './template-helpers';

/**
 * A render thread of `RenderPool` (common/render-pool.ts): renders each context of a task with the task's templates,
 * compiled once per thread. Before each context it writes the time and the context's index to the shared clock, so
 * that the pool can end this thread when one render runs past the budget; a render that ends past it, or whose
 * output is over the cap, is a `RENDER_LIMIT` outcome.
 */

// Handlebars prints a denied prototype access (`{{user.constructor}}`, which renders empty) to stderr, outside the
// service's structured, redacted logs: a template author could fill them. The denial itself is what matters.
Handlebars.logger.log = () => undefined;

const { locale, timeoutMs, maxOutputBytes, clock: clockBuffer } = workerData as RenderThreadData;
const clock = new BigInt64Array(clockBuffer);
const renderer = new MessageRenderer(locale, maxOutputBytes);
const compiled = new Map<string, CompiledTemplate>();
/** The same sends' templates come back batch after batch; a few hundred sources cover the sends in flight. */
const COMPILED_KEPT = 256;
/** A render error's message is shown by the API: long enough to say what failed, not a copy of the data. */
const ERROR_CHARS = 300;

function compiledFor(source: string, html: boolean): CompiledTemplate {
  const key = `${html ? 'h' : 't'}${source}`;
  let template = compiled.get(key);
  if (!template) {
    if (compiled.size >= COMPILED_KEPT) compiled.clear();
    template = renderer.compile('template', source, { html });
    compiled.set(key, template);
  }
  return template;
}

function outputBytes(texts: (string | undefined)[]): number {
  let chars = 0;
  for (const text of texts) chars += text?.length ?? 0;
  // A UTF-16 unit is at most 3 bytes of UTF-8: only a large message needs counting.
  if (chars * 3 <= maxOutputBytes) return chars;
  return texts.reduce((bytes, text) => bytes + (text ? Buffer.byteLength(text) : 0), 0);
}

function renderOne(task: RenderTask, index: number): RenderOutcome {
  const started = Date.now();
  Atomics.store(clock, 1, BigInt(index));
  Atomics.store(clock, 0, BigInt(started));
  try {
    const context = (
      task.data === undefined ? task.contexts[index] : { ...task.contexts[index], data: task.data }
    ) as RenderContext;
    const texts = task.templates.map((template) =>
      template === null ? undefined : compiledFor(template.source, template.html)(context),
    );
    const elapsed = Date.now() - started;
    if (elapsed > timeoutMs) return limit(`rendering took ${elapsed} ms, over the ${timeoutMs} ms budget`);
    if (outputBytes(texts) > maxOutputBytes) return limit(`the message is over the ${maxOutputBytes}-byte output cap`);
    return { texts };
  } catch (error) {
    if (error instanceof RenderLimitError) return limit(error.message);
    // V8's own ceiling on a string's length: an output far over any cap.
    if (error instanceof RangeError && /Invalid string length/.test(error.message)) {
      return limit(`the message is over the ${maxOutputBytes}-byte output cap`);
    }
    return {
      code: 'RENDER_ERROR',
      error: `rendering failed: ${String((error as Error).message).slice(0, ERROR_CHARS)}`,
    };
  }
}

function limit(error: string): RenderOutcome {
  return { code: 'RENDER_LIMIT', error };
}

parentPort!.on('message', (task: RenderTask) => {
  const outcomes: RenderOutcome[] = [];
  for (let index = 0; index < task.contexts.length; index++) outcomes.push(renderOne(task, index));
  Atomics.store(clock, 0, 0n);
  const result: RenderThreadResult = { id: task.id, outcomes };
  parentPort!.postMessage(result);
});
