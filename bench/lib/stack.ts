import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildApp } from '../../api/app';
import { type AppConfig } from '../../common/config/config';
import { loadConfig } from '../../providers/service-configuration';
import { temporalDataConverter } from '../../common/temporal/data-converter';
import { connectDatabase, type Database } from '../../common/store/db';
import {
  ensureFcmServiceAccount,
  freePort,
  manage,
  startFerretDb,
  startTemporal,
  WORKER_NODE_OPTIONS,
  type ManagedProcess,
} from '../../scripts/local-stack';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { writeWorkflowBundle } from '../../worker/workflow-bundle';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A worker process of the bench: its pid for /proc, its metrics port for its own delivery counts. */
export interface BenchWorker {
  name: string;
  child: ChildProcess;
  pid: number;
  /** `WORKER_METRICS_PORT`: `messaging_deliveries_total` tells each worker's share of a send. */
  metricsPort: number;
  /** Activity slots (`worker.maxConcurrentActivities`). */
  slots: number;
}

export interface WorkerOptions {
  /** Activity slots; default: the configuration's. */
  slots?: number;
}

/**
 * The bench's own stack, wired like test/support/test-stack.ts but on its own servers: a Temporal dev server and
 * FerretDB on free ports and a temp dir, the simulator and the API in this process, and the workers as child
 * processes (`node --import tsx worker/main.ts`), so that their RSS and CPU can be read on their own.
 */
export interface BenchStack {
  workDir: string;
  /** Environment every child (worker, baseline, ceiling) gets: the same configuration the API uses. */
  env: Record<string, string>;
  config: AppConfig;
  database: Database;
  simulator: RunningSimulator;
  temporal: Client;
  app: FastifyInstance;
  apiUrl: string;
  /** `ferretdb`, or the MongoDB URL's host (BENCH_MONGODB_URL). */
  storeName: string;
  /** `store`: FerretDB's pid, or BENCH_STORE_PID for an external store on this machine (else its CPU is unknown). */
  pids: { temporal?: number; store?: number; bench: number };
  /** Starts one more worker on the bench's task queue. */
  startWorker(options?: WorkerOptions): Promise<BenchWorker>;
  /** SIGTERM, SIGKILL after 2 s, every worker: a terminated send's activities would otherwise keep the store busy. */
  stopWorker(): Promise<void>;
  /** The running workers; `worker` is the first. */
  workers: BenchWorker[];
  worker?: BenchWorker;
  sim<T = unknown>(method: 'GET' | 'DELETE', path: string): Promise<T>;
  close(): Promise<void>;
}

export async function startBenchStack(log: (line: string) => void): Promise<BenchStack> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'messaging-bench-'));
  const servers: ManagedProcess[] = [];
  const [temporalPort, temporalUiPort, mongoPort] = await Promise.all([freePort(), freePort(), freePort()]);
  // BENCH_MONGODB_URL (a server URL, no database) measures against a real MongoDB instead of FerretDB on SQLite.
  const externalMongo = process.env.BENCH_MONGODB_URL?.replace(/\/+$/, '');
  const [temporalServer, ferretdb] = await Promise.all([
    startTemporal({ port: temporalPort, uiPort: temporalUiPort }),
    externalMongo ? undefined : startFerretDb({ port: mongoPort, dir: path.join(workDir, 'ferretdb') }),
  ]);
  servers.push(temporalServer, ...(ferretdb ? [ferretdb] : []));
  const mongoUrl = externalMongo ? `${externalMongo}/bench_${Date.now()}` : `mongodb://127.0.0.1:${mongoPort}/bench`;
  log(
    `temporal 127.0.0.1:${temporalPort}, mongodb ${mongoUrl}${ferretdb ? ' (FerretDB on SQLite)' : ''}, work dir ${workDir}`,
  );

  // The workers load the workflows bundled ahead, as the image's worker does (docs/operations.md "Deploy").
  const workflowBundlePath = path.join(workDir, 'workflow-bundle.js');
  const [simulator] = await Promise.all([startSimulator({}), writeWorkflowBundle(workflowBundlePath)]);
  const env: Record<string, string> = {
    // The simulator's credentials for what is not set below (each provider module's development `profileDefaults`).
    MESSAGING_PROFILE: 'development',
    MONGODB_URL: mongoUrl,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TEMPORAL_TASK_QUEUE: 'bench',
    TEMPORAL_UI_URL: `http://127.0.0.1:${temporalUiPort}`,
    CONFIGURATION_PATH: path.join(REPO_ROOT, 'config', 'default.json'),
    SMTP_URL: simulator.smtpUrl,
    TWILIO_BASE_URL: simulator.httpUrl,
    KALEYRA_BASE_URL: simulator.httpUrl,
    FCM_BASE_URL: simulator.httpUrl,
    FCM_TOKEN_URL: `${simulator.httpUrl}/token`,
    FCM_CREDENTIALS_PATH: ensureFcmServiceAccount(path.join(workDir, 'fcm-service-account.json')),
    INFOBIP_BASE_URL: simulator.httpUrl,
    FLOW_MANAGER_URL: simulator.httpUrl,
    SEND_WAIT_MS: '30000',
    WORKFLOW_BUNDLE_PATH: workflowBundlePath,
    // info, not warn: the worker's "worker started" line tells us it polls.
    LOG_LEVEL: 'info',
  };
  const config = loadConfig(env);
  // The load test sends as fast as one client can: the API's per-key rate limit would cut its figures short.
  config.service.api.rateLimit.max = Number.MAX_SAFE_INTEGER;
  const database = await connectDatabase(config);
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  const temporal = new Client({
    connection,
    namespace: config.env.TEMPORAL_NAMESPACE,
    dataConverter: temporalDataConverter(config.env),
  });
  // The configuration's own fan-out sizes: the bench measures what users get.
  const app = await buildApp({ config, database, temporal, logger: false });
  const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });

  const managedWorkers: ManagedProcess[] = [];
  // A crash of the bench must not leave a worker, Temporal or FerretDB running: 'exit' also fires on an uncaught
  // exception, and kill() is synchronous.
  process.once('exit', () => {
    for (const server of [...servers, ...managedWorkers]) server.child.kill('SIGKILL');
  });
  const storePid =
    ferretdb?.child.pid ?? (process.env.BENCH_STORE_PID ? Number(process.env.BENCH_STORE_PID) : undefined);
  const stack: BenchStack = {
    workDir,
    env,
    config,
    database,
    simulator,
    temporal,
    app,
    apiUrl,
    storeName: ferretdb ? 'ferretdb' : new URL(externalMongo!).host,
    pids: { temporal: temporalServer.child.pid, store: storePid, bench: process.pid },
    workers: [],
    async startWorker(options = {}) {
      const workerEnv: Record<string, string> = { ...env, NODE_OPTIONS: WORKER_NODE_OPTIONS };
      const slots = options.slots ?? config.service.worker.maxConcurrentActivities;
      if (options.slots !== undefined) {
        // The configuration file with the worker's slots changed, the rest as the API reads it.
        const configPath = path.join(workDir, `config-${slots}-slots.json`);
        const base = JSON.parse(readFileSync(env.CONFIGURATION_PATH, 'utf8')) as Record<string, unknown>;
        const worker = { ...(base.worker as object | undefined), maxConcurrentActivities: slots };
        writeFileSync(configPath, JSON.stringify({ ...base, worker }));
        workerEnv.CONFIGURATION_PATH = configPath;
      }
      const metricsPort = await freePort();
      workerEnv.WORKER_METRICS_PORT = String(metricsPort);
      const child = spawnTs('worker/main.ts', workerEnv);
      const name = `worker${stack.workers.length === 0 ? '' : `-${stack.workers.length + 1}`}`;
      managedWorkers.push(manage(name, child));
      const started: BenchWorker = { name, child, pid: child.pid!, metricsPort, slots };
      stack.workers.push(started);
      stack.worker = stack.workers[0];
      await waitForLine(child, /worker started/, 120_000);
      return started;
    },
    async stopWorker() {
      await Promise.all(managedWorkers.splice(0).map((worker) => worker.stop(2000)));
      stack.workers = [];
      stack.worker = undefined;
    },
    async sim<T>(method: 'GET' | 'DELETE', route: string) {
      const response = await request(`${simulator.httpUrl}${route}`, { method });
      const text = await response.body.text();
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async close() {
      // The worker first (it holds Temporal and MongoDB connections), then our clients, then the servers.
      await Promise.all(managedWorkers.map((worker) => worker.stop(5000).catch(() => undefined)));
      for (const server of servers.reverse()) await server.stop(5000).catch(() => undefined);
      await app.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      if (externalMongo) await database.db.dropDatabase().catch(() => undefined);
      await database.close().catch(() => undefined);
      await simulator.close().catch(() => undefined);
      rmSync(workDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/**
 * Runs a TypeScript entry point in its own Node process without the `tsx` wrapper process, so the pid we hold is
 * the process doing the work (its /proc figures are the worker's own, not a launcher's).
 */
export function spawnTs(entry: string, env: Record<string, string>, args: string[] = []): ChildProcess {
  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the worker and the baseline side by side.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(REPO_ROOT, entry), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Keeps the last lines a child printed (for error messages) and resolves when one matches `pattern`. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}: ${tail.join('\n')}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        if (pattern.test(line)) {
          clearTimeout(timer);
          resolve(line);
        }
      }
    };
    // Both streams stay drained for the child's whole life, or a chatty child would block on a full pipe.
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited with code ${code}: ${tail.join('\n')}`));
    });
  });
}

/** Runs a child to completion and parses the JSON object on the last line of its stdout. */
export async function runJsonChild<T>(
  entry: string,
  env: Record<string, string>,
  timeoutMs: number,
  onPid?: (pid: number) => void,
): Promise<T> {
  const child = spawnTs(entry, env);
  if (child.pid && onPid) onPid(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0) throw new Error(`${entry} exited with ${code}: ${stderr || last}`);
  return JSON.parse(last) as T;
}
