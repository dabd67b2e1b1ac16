import type { ChildProcess } from 'node:child_process';
import { manage, type ManagedProcess } from './local-stack';

/** How long `npm run dev` waits before starting an exited worker or API again. */
export interface RestartBackoff {
  /** The first delay, and the delay again once a process has run `resetAfterMs`. */
  initialMs: number;
  /** Each quick exit doubles the delay, up to this. */
  maxMs: number;
  /** Uptime after which an exit counts as a new failure, not one more of a crash loop. */
  resetAfterMs: number;
}

export const RESTART_BACKOFF: RestartBackoff = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

/** The delay before the next start: doubling while the process keeps exiting quickly, from the start after a minute up. */
export function nextRestartDelay(
  previousMs: number | undefined,
  uptimeMs: number,
  backoff: RestartBackoff = RESTART_BACKOFF,
): number {
  if (previousMs === undefined || uptimeMs >= backoff.resetAfterMs) return backoff.initialMs;
  return Math.min(previousMs * 2, backoff.maxMs);
}

/** "exited with code 1", "was killed by SIGKILL": how a process ended, for the supervisor's messages. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

export interface SupervisedProcessOptions {
  name: string;
  /** Starts one instance of the process. */
  start(): ChildProcess;
  /** An exit while restarts are off (before `restartOnExit`): the caller stops the stack. */
  onExitBeforeReady(message: string): void;
  log(line: string): void;
}

/**
 * A child process that is started again whenever it exits, after a backoff (`RestartBackoff`), until `stop`.
 * Restarts begin with `restartOnExit()`: a process that cannot start at all (a taken port, a bad setting) is
 * reported once instead of looping.
 */
export class SupervisedProcess {
  private current: ManagedProcess;
  private startedAt = Date.now();
  private delayMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private restarts = false;
  private stopped = false;

  constructor(private readonly options: SupervisedProcessOptions) {
    this.current = this.launch();
  }

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.current.child.pid;
  }

  restartOnExit(): void {
    this.restarts = true;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; no restart after it. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current.stop(graceMs);
  }

  private launch(): ManagedProcess {
    const child = this.options.start();
    this.startedAt = Date.now();
    child.once('exit', (code, signal) => this.exited(describeExit(code, signal), child.pid));
    return manage(this.options.name, child);
  }

  private exited(how: string, pid: number | undefined): void {
    if (this.stopped) return;
    const { name, log } = this.options;
    if (!this.restarts) {
      this.options.onExitBeforeReady(`${name} (pid ${pid}) ${how} before the stack was up`);
      return;
    }
    const uptimeMs = Date.now() - this.startedAt;
    this.delayMs = nextRestartDelay(this.delayMs, uptimeMs);
    log(
      `${name} (pid ${pid}) ${how} after ${formatSeconds(uptimeMs)}; restarting it in ${formatSeconds(this.delayMs)}`,
    );
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      this.current = this.launch();
      log(`${name} restarted: pid ${this.pid}`);
    }, this.delayMs);
  }
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
