import Handlebars from 'handlebars';
import { parentPort, workerData } from 'node:worker_threads';
import { MessageRenderer, type CompiledTemplate, type RenderContext } from './rendering';
import type { RenderTask, RenderThreadData, RenderThreadResult } from './render-pool';
import { RenderLimitError } from './template-helpers';

/**
 * A render thread of `RenderPool` (common/rendering/render-pool.ts): renders each context of a task with the task's
 * templates, compiled once per thread. Before each context it writes the time and the context's index to the shared
 * clock, so that the pool can end this thread when one render runs past the budget; a render that ends past it, or
 * whose output is over the cap, is a `RENDER_LIMIT` outcome.
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

/** The UTF-8 bytes of `texts` from `first` on (one context's). */
function outputBytes(texts: (string | undefined)[], first: number): number {
  let chars = 0;
  for (let i = first; i < texts.length; i++) chars += texts[i]?.length ?? 0;
  // A UTF-16 unit is at most 3 bytes of UTF-8: only a large message needs counting.
  if (chars * 3 <= maxOutputBytes) return chars;
  let bytes = 0;
  for (let i = first; i < texts.length; i++) bytes += texts[i] ? Buffer.byteLength(texts[i]!) : 0;
  return bytes;
}

/** Renders one context's texts onto `texts`, or answers why it failed (its texts then stay undefined). */
function renderOne(task: RenderTask, index: number, texts: (string | undefined)[]): Failure | undefined {
  const started = Date.now();
  Atomics.store(clock, 1, BigInt(index));
  Atomics.store(clock, 0, BigInt(started));
  const first = texts.length;
  try {
    const context = (
      task.data === undefined ? task.contexts[index] : { ...task.contexts[index], data: task.data }
    ) as RenderContext;
    for (const template of task.templates) {
      texts.push(template === null ? undefined : compiledFor(template.source, template.html)(context));
    }
    const elapsed = Date.now() - started;
    if (elapsed > timeoutMs) return limit(`rendering took ${elapsed} ms, over the ${timeoutMs} ms budget`);
    if (outputBytes(texts, first) > maxOutputBytes) {
      return limit(`the message is over the ${maxOutputBytes}-byte output cap`);
    }
    return undefined;
  } catch (error) {
    if (error instanceof RenderLimitError) return limit(error.message);
    // V8's own ceiling on a string's length: an output far over any cap.
    if (error instanceof RangeError && /Invalid string length/.test(error.message)) {
      return limit(`the message is over the ${maxOutputBytes}-byte output cap`);
    }
    return ['RENDER_ERROR', `rendering failed: ${String((error as Error).message).slice(0, ERROR_CHARS)}`];
  } finally {
    // One row per context, whatever happened: the caller clears the row of a failed one.
    texts.length = first + task.templates.length;
  }
}

type Failure = ['RENDER_LIMIT' | 'RENDER_ERROR', string];

function limit(error: string): Failure {
  return ['RENDER_LIMIT', error];
}

parentPort!.on('message', (task: RenderTask) => {
  const texts: (string | undefined)[] = [];
  const failures: RenderThreadResult['failures'] = [];
  for (let index = 0; index < task.contexts.length; index++) {
    const failure = renderOne(task, index, texts);
    if (failure) {
      texts.fill(undefined, index * task.templates.length);
      failures.push([index, ...failure]);
    }
  }
  Atomics.store(clock, 0, 0n);
  const result: RenderThreadResult = { id: task.id, texts, failures };
  parentPort!.postMessage(result);
});
