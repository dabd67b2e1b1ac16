import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TelemetryOptions } from '@temporalio/worker';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ActivityMetrics } from '../activities/activity-metrics';

/**
 * The Temporal SDK metrics that ops/grafana/messaging-dashboard.json reads: the SDK registers them, not our code,
 * so the dashboard's test accepts these names and the worker's metrics test checks that the worker serves them.
 */
export const TEMPORAL_SDK_METRICS = [
  'temporal_worker_task_slots_available',
  'temporal_activity_schedule_to_start_latency_seconds_bucket',
  'temporal_activity_execution_failed_total',
] as const;

/** How long a scrape waits for the SDK's exporter before it answers with our metrics alone. */
const SDK_SCRAPE_TIMEOUT_MS = 2000;

/** A free port on the loopback interface, for the SDK's exporter that only this process reads. */
async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * The worker's Prometheus endpoint (`GET /metrics` on `WORKER_METRICS_PORT`, docs/operations.md "Metrics"): its own
 * metrics (`ActivityMetrics` and the process's) and the Temporal SDK's, merged into one scrape. The SDK's exporter
 * serves its own endpoint; it listens on a loopback port of its own, and each scrape reads it and appends it, so an
 * operator has one port to scrape and one target per worker.
 */
export class WorkerMetricsServer {
  /** What the activities count with; give it to `createWorker`. */
  readonly activityMetrics: ActivityMetrics;
  /** The SDK runtime's exporter, for `Runtime.install({ telemetryOptions })`, which must run before any worker. */
  readonly telemetryOptions: TelemetryOptions;

  private constructor(
    private readonly server: Server,
    private readonly registry: Registry,
    private readonly sdkMetricsUrl: string,
  ) {
    this.activityMetrics = new ActivityMetrics(registry);
    this.telemetryOptions = {
      metrics: {
        prometheus: {
          bindAddress: new URL(sdkMetricsUrl).host,
          // Prometheus' conventions, as our own metrics follow them: counters end in _total, durations in seconds.
          countersTotalSuffix: true,
          useSecondsForDurations: true,
          unitSuffix: true,
        },
      },
    };
    server.on('request', (request, response) => {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      this.scrape().then(
        (text) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    });
  }

  /**
   * Listens on `port` (0: a free one) before the worker connects anywhere, so a port in use stops the boot at once.
   * The SDK's part appears once `Runtime.install` has run with `telemetryOptions` and a worker has started.
   */
  static async start(port: number): Promise<WorkerMetricsServer> {
    const sdkMetricsUrl = `http://127.0.0.1:${await freeLoopbackPort()}/metrics`;
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, resolve));
    return new WorkerMetricsServer(server, registry, sdkMetricsUrl);
  }

  /** The port `/metrics` is served on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async scrape(): Promise<string> {
    const [own, sdk] = await Promise.all([this.registry.metrics(), this.sdkMetrics()]);
    return `${own.trimEnd()}\n${sdk.trimEnd()}\n`;
  }

  /** The SDK exporter's text; a comment instead while it is not up (before the first worker) or failing. */
  private async sdkMetrics(): Promise<string> {
    try {
      const response = await fetch(this.sdkMetricsUrl, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`answered ${response.status}`);
      return await response.text();
    } catch (error) {
      return `# Temporal SDK metrics unavailable: ${(error as Error).message}`;
    }
  }
}
