import { readFileSync } from 'node:fs';

/**
 * Reads a process's memory and CPU from /proc (Linux only). Used to attribute the run's time and memory to the
 * worker, Temporal, FerretDB and the bench process (which hosts the simulator and the API).
 */

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ is 100 on every Linux we run on; avoids spawning `getconf`.

export interface ProcSample {
  rssMb: number;
  /** Peak RSS since the process started (VmHWM). */
  hwmMb: number;
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
}

export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the whole line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024, cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND };
  } catch {
    return undefined; // The process has exited.
  }
}

/** Polls a process's RSS while a phase runs, so the peak of that phase is known (VmHWM covers the whole life). */
export class RssPoller {
  private timer?: NodeJS.Timeout;
  peakMb = 0;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 200,
  ) {}

  start(): this {
    this.peakMb = 0;
    const poll = () => {
      const sample = sampleProcess(this.pid);
      if (sample) this.peakMb = Math.max(this.peakMb, sample.rssMb);
    };
    poll();
    this.timer = setInterval(poll, this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): number {
    clearInterval(this.timer);
    const sample = sampleProcess(this.pid);
    if (sample) this.peakMb = Math.max(this.peakMb, sample.rssMb);
    return this.peakMb;
  }
}

/** CPU seconds each named process spent between `start()` and `stop()`. */
export class CpuMeter {
  private readonly before = new Map<string, number>();

  constructor(private readonly pids: Record<string, number | undefined>) {}

  start(): this {
    for (const [name, pid] of Object.entries(this.pids)) {
      if (pid) this.before.set(name, sampleProcess(pid)?.cpuSeconds ?? 0);
    }
    return this;
  }

  stop(): Record<string, number> {
    const spent: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      if (!pid) continue;
      const now = sampleProcess(pid)?.cpuSeconds;
      if (now !== undefined) spent[name] = round(now - (this.before.get(name) ?? 0), 2);
    }
    return spent;
  }
}

export const round = (value: number, digits = 2): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/** Waits until a process uses less than `threshold` of a core over 1 s windows, for at most `maxMs`. */
export async function waitUntilIdle(pid: number | undefined, maxMs: number, threshold = 0.1): Promise<number> {
  const started = Date.now();
  if (!pid) return 0;
  let before = sampleProcess(pid)?.cpuSeconds ?? 0;
  while (Date.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = sampleProcess(pid)?.cpuSeconds ?? before;
    if (now - before < threshold) break;
    before = now;
  }
  return (Date.now() - started) / 1000;
}
