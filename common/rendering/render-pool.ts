import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RenderContext } from './rendering';

/** How a pool renders, from the configuration (`DEFAULT_LOCALE`, `RENDER_TIMEOUT_MS`, `RENDER_MAX_OUTPUT_BYTES`). */
export interface RenderPoolOptions {
  /** dayjs locale of `dateFormat`. */
  locale: string;
  /** Wall-clock budget of one context's render, all its templates; default 1000. */
  timeoutMs: number;
  /** Largest output of one context's render, all its templates, in UTF-8 bytes; default 1 MiB. */
  maxOutputBytes: number;
  /** Render threads; default 1 (a render is microseconds, a provider call milliseconds). */
  threads?: number;
}

/** One template of a task; `null` for an optional field the message does not have. */
export interface TemplateSource {
  source: string;
  /** Escape interpolated values (HTML email). */
  html: boolean;
}

/** One context's result: a text per template (undefined for a `null` one), or why there is none. */
export type RenderOutcome =
  { texts: (string | undefined)[]; code?: undefined } | { code: 'RENDER_LIMIT' | 'RENDER_ERROR'; error: string };

/** @internal what the pool posts to a thread */
export interface RenderTask {
  id: number;
  templates: (TemplateSource | null)[];
  contexts: Record<string, unknown>[];
  /** Set into every context as `data` (a send's data is the same for all its recipients: posted once). */
  data?: Record<string, unknown>;
}

/**
 * @internal what a thread posts back: the texts of every context, one row of `templates.length` after another (flat,
 * which costs a third of an array per context to copy across), and the contexts that failed, by index.
 */
export interface RenderThreadResult {
  id: number;
  texts: (string | undefined)[];
  failures: [index: number, code: 'RENDER_LIMIT' | 'RENDER_ERROR', error: string][];
}

/** @internal a thread's `workerData` */
export interface RenderThreadData {
  locale: string;
  timeoutMs: number;
  maxOutputBytes: number;
  /** [render start in ms since the epoch, 0 when idle; index of the context being rendered] */
  clock: SharedArrayBuffer;
}

/**
 * A thread's heap: far above any message the output cap lets through, and low enough that a render that builds
 * huge strings ends its thread (ERR_WORKER_OUT_OF_MEMORY), not the worker process.
 */
const THREAD_HEAP_MB = 128;
/**
 * Renders a task may lose to the budget before the rest of it fails without rendering: a template that runs past the
 * budget for three recipients will for the others too, and each costs a budget and a new thread.
 */
const MAX_OVERRUNS_PER_TASK = 3;

interface PendingTask {
  id: number;
  templates: (TemplateSource | null)[];
  contexts: Record<string, unknown>[];
  data?: Record<string, unknown>;
  /** Indexes (into `contexts`) not rendered yet. */
  remaining: number[];
  outcomes: RenderOutcome[];
  overruns: number;
  resolve(outcomes: RenderOutcome[]): void;
}

interface Slot {
  worker: Worker;
  clock: BigInt64Array;
  task?: PendingTask;
  /** The indexes (into the task's contexts) posted to the thread, in the order the thread renders them. */
  posted?: number[];
}

/** The thread's entry: compiled JavaScript in `dist/`, TypeScript through tsx under the dev scripts and jest. */
function threadEntry(): { entry: string; eval: boolean } {
  if (__filename.endsWith('.js')) return { entry: path.join(__dirname, 'render-thread.js'), eval: false };
  const file = path.join(__dirname, 'render-thread.ts');
  return {
    entry: `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(file)});`,
    eval: true,
  };
}

/**
 * Renders templates on worker threads (docs/api.md "Rendering"), so that a template that runs away (a nested `each`
 * over a large array, a helper that amplifies) cannot hold the caller's event loop, its heartbeats or its memory: a
 * thread whose current render runs past `timeoutMs` is terminated (found by a watchdog reading the thread's shared
 * clock), that context fails with `RENDER_LIMIT`, and the rest of its task renders on a new thread. A task carries many
 * contexts (a dispatch batch's recipients), so a thread message costs once per batch, not per recipient; each thread
 * keeps its compiled templates.
 */
export class RenderPool {
  private readonly slots: (Slot | undefined)[];
  private readonly queue: PendingTask[] = [];
  private nextId = 1;
  private watchdog?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: RenderPoolOptions) {
    this.slots = new Array<Slot | undefined>(Math.max(1, options.threads ?? 1)).fill(undefined);
  }

  /**
   * Renders every context with every template. `data`, when given, is each context's `data`.
   * Never rejects for a template: its failures are outcomes.
   */
  render(
    templates: (TemplateSource | null)[],
    contexts: Record<string, unknown>[],
    data?: RenderContext['data'],
  ): Promise<RenderOutcome[]> {
    if (this.closed) return Promise.reject(new Error('the render pool is closed'));
    if (contexts.length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      this.queue.push({
        id: this.nextId++,
        templates,
        contexts: contexts.map(cloneable) as Record<string, unknown>[],
        data: data === undefined ? undefined : (cloneable(data) as Record<string, unknown>),
        remaining: contexts.map((_, index) => index),
        outcomes: new Array<RenderOutcome>(contexts.length),
        overruns: 0,
        resolve,
      });
      this.pump();
    });
  }

  /** Ends the threads; tasks in flight are not answered. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    await Promise.all(this.slots.map((slot) => slot?.worker.terminate()));
    this.slots.fill(undefined);
  }

  private pump(): void {
    for (let index = 0; index < this.slots.length && this.queue.length > 0; index++) {
      const slot = (this.slots[index] ??= this.startThread(index));
      if (slot.task) continue;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.posted = task.remaining;
      const message: RenderTask = {
        id: task.id,
        templates: task.templates,
        contexts:
          task.remaining.length === task.contexts.length ? task.contexts : task.remaining.map((i) => task.contexts[i]),
        data: task.data,
      };
      slot.worker.ref();
      slot.worker.postMessage(message);
    }
    this.watch();
  }

  private startThread(index: number): Slot {
    const clockBuffer = new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT);
    const { entry, eval: isEval } = threadEntry();
    const data: RenderThreadData = {
      locale: this.options.locale,
      timeoutMs: this.options.timeoutMs,
      maxOutputBytes: this.options.maxOutputBytes,
      clock: clockBuffer,
    };
    const worker = new Worker(entry, {
      eval: isEval,
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
      // The TypeScript entry registers its own loader: the thread needs none of the process's flags.
      execArgv: [],
      // Nor its environment, where the provider credentials are: a template's thread has nothing to read there.
      env: {},
    });
    worker.unref();
    const slot: Slot = { worker, clock: new BigInt64Array(clockBuffer) };
    worker.on('message', (result: RenderThreadResult) => this.finished(index, slot, result));
    worker.on('error', (error: Error & { code?: string }) => {
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.lost(
        index,
        slot,
        outOfMemory ? 'RENDER_LIMIT' : 'RENDER_ERROR',
        outOfMemory
          ? `rendering used more than the render thread's ${THREAD_HEAP_MB} MB of memory`
          : `the render thread failed: ${error.message}`,
      );
    });
    worker.on('exit', () => this.lost(index, slot, 'RENDER_ERROR', 'the render thread exited'));
    return slot;
  }

  private finished(index: number, slot: Slot, result: RenderThreadResult): void {
    const task = slot.task;
    if (!task || task.id !== result.id || this.slots[index] !== slot) return;
    const width = task.templates.length;
    const failed = new Map(result.failures.map(([i, code, error]) => [i, { code, error }]));
    slot.posted!.forEach((contextIndex, i) => {
      task.outcomes[contextIndex] = failed.get(i) ?? { texts: result.texts.slice(i * width, (i + 1) * width) };
    });
    slot.task = undefined;
    slot.posted = undefined;
    slot.worker.unref();
    task.resolve(task.outcomes);
    this.pump();
  }

  /**
   * The thread ended (terminated by the watchdog, out of memory, crashed) while rendering: the context it was on fails
   * with `code`, the contexts before it (whose outcomes died with the thread) and after it go back to the queue's head.
   */
  private lost(index: number, slot: Slot, code: 'RENDER_LIMIT' | 'RENDER_ERROR', error: string): void {
    if (this.slots[index] !== slot) return;
    this.slots[index] = undefined;
    void slot.worker.terminate();
    const task = slot.task;
    if (!task || this.closed) return;
    const posted = slot.posted!;
    const culprit = posted[Number(Atomics.load(slot.clock, 1))] ?? posted[0];
    task.outcomes[culprit] = { code, error };
    task.remaining = posted.filter((contextIndex) => contextIndex !== culprit);
    if (code === 'RENDER_LIMIT') task.overruns++;
    if (task.overruns >= MAX_OVERRUNS_PER_TASK && task.remaining.length > 0) {
      for (const contextIndex of task.remaining) {
        task.outcomes[contextIndex] = {
          code: 'RENDER_LIMIT',
          error: `not rendered: the template went over the render limits for ${task.overruns} recipients of this batch`,
        };
      }
      task.remaining = [];
    }
    if (task.remaining.length === 0) task.resolve(task.outcomes);
    else this.queue.unshift(task);
    this.pump();
  }

  /** Checks the busy threads' clocks while any is busy; ends one whose current render is past the budget. */
  private watch(): void {
    const busy = this.slots.some((slot) => slot?.task);
    if (!busy) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
      return;
    }
    if (this.watchdog) return;
    const every = Math.max(10, Math.min(100, Math.floor(this.options.timeoutMs / 4)));
    this.watchdog = setInterval(() => {
      const now = Date.now();
      this.slots.forEach((slot, index) => {
        if (!slot?.task) return;
        const started = Number(Atomics.load(slot.clock, 0));
        if (started > 0 && now - started > this.options.timeoutMs) {
          this.lost(index, slot, 'RENDER_LIMIT', `rendering took longer than the ${this.options.timeoutMs} ms budget`);
        }
      });
      this.watch();
    }, every);
    this.watchdog.unref();
  }
}

/**
 * A value as the thread should see it: a value that is not plain data (a MongoDB `ObjectId`, `Decimal128`, ...)
 * becomes its text, as a template printing it in this process would show it; structured cloning would copy its
 * fields instead. Plain objects and arrays are copied only when something inside them changes.
 */
export function cloneable(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = cloneable(value[i]);
      if (item !== value[i]) (copy ??= [...value])[i] = item;
    }
    return copy ?? value;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return String(value);
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    const field = (value as Record<string, unknown>)[key];
    const converted = cloneable(field);
    if (converted === field) continue;
    copy ??= { ...(value as Record<string, unknown>) };
    // Defined, not assigned: a key named `__proto__` (JSON allows it) stays a key.
    Object.defineProperty(copy, key, { value: converted, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? value;
}

const shared = new Map<string, RenderPool>();

/** One pool per process and options: the `/send` dispatches, the `/messages` ones and the API's previews share it. */
export function sharedRenderPool(options: RenderPoolOptions): RenderPool {
  const key = JSON.stringify(options);
  let pool = shared.get(key);
  if (!pool) {
    pool = new RenderPool(options);
    shared.set(key, pool);
  }
  return pool;
}

/** The pool options a configuration sets. */
export function renderPoolOptions(env: {
  DEFAULT_LOCALE: string;
  RENDER_TIMEOUT_MS: number;
  RENDER_MAX_OUTPUT_BYTES: number;
}): RenderPoolOptions {
  return { locale: env.DEFAULT_LOCALE, timeoutMs: env.RENDER_TIMEOUT_MS, maxOutputBytes: env.RENDER_MAX_OUTPUT_BYTES };
}
