import { Client, Connection } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildApp } from '../../api/app';
import { type AppConfig } from '../../common/config/config';
import { parseEnvironment, serviceConfigSchema } from '../../providers/service-configuration';
import { temporalDataConverter } from '../../common/temporal/data-converter';
import { connectDatabase, type Database } from '../../common/store/db';
import { freePort, manage, waitForPort, type ManagedProcess } from '../../scripts/local-stack';
import { startSimulator, type RunningSimulator } from '../../simulator';
import type { FanOutOptions } from '../../workflows/send-message';
import { createWorker, type RunningWorker } from '../../worker/create-worker';
import { installQuietRuntime } from './quiet-runtime';

export interface TestStackOptions {
  /** Overrides of the JSON service configuration (merged over a test default with every channel active). */
  service?: Record<string, unknown>;
  /** Overrides of environment variables. */
  env?: Record<string, string | undefined>;
  fanOut?: FanOutOptions;
  /** Start a worker (default true). */
  worker?: boolean;
  workerOptions?: Partial<WorkerOptions>;
}

/** How a test spawns the worker or the API as a process. */
export interface SpawnOptions {
  /** Variables over the stack's environment (e.g. `LOG_LEVEL`, `API_KEYS`). */
  env?: Record<string, string>;
  /** Receives everything the process writes (stdout and stderr), e.g. to read its log lines. */
  onOutput?: (text: string) => void;
}

export interface TestStack {
  config: AppConfig;
  database: Database;
  simulator: RunningSimulator;
  app: FastifyInstance;
  temporal: Client;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  /** The worker as its own process (`tsx worker/main.ts`), which a test may SIGKILL like a crash. */
  spawnWorkerProcess(options?: SpawnOptions): Promise<ManagedProcess>;
  /**
   * The API as its own process (`tsx api/server.ts`) on `port` (a free one by default), with the stack's
   * environment and service configuration; resolves once it listens. A test may SIGKILL it like a crash.
   */
  spawnApiProcess(
    port?: number,
    options?: SpawnOptions,
  ): Promise<{ process: ManagedProcess; port: number; url: string }>;
  /** Control API of the simulator: `sim('GET', '/messages?channel=sms')`. */
  sim<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, json?: unknown): Promise<T>;
  close(): Promise<void>;
}

/** Small pages and batches, so that a few users exercise paging, batching and `continueAsNew`. */
export const SMALL_FAN_OUT: FanOutOptions = {
  pageSize: 50,
  chunkSize: 10,
  perDeliveryLimit: 5,
  pagesPerRun: 3,
  heartbeatTimeoutMs: 3000,
};

/** The configuration's own fan-out sizes, for a test that must see a send as production runs it. */
export const PRODUCTION_FAN_OUT: FanOutOptions = serviceConfigSchema.parse({ activeChannels: ['sms'] }).fanOut;

/** Small retry intervals keep fault-injection tests fast without changing what they prove. */
export const FAST_RETRY = {
  initialIntervalMs: 100,
  backoffCoefficient: 2,
  maximumIntervalMs: 1000,
  maximumAttempts: 3,
};

/**
 * A whole service for one test file, on the suite's real Temporal and FerretDB (see global-setup.ts): its own
 * database, task queue and provider simulator, a worker, and the API built with `buildApp` for `app.inject`.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  installQuietRuntime();
  const suffix = randomBytes(4).toString('hex');
  const simulator = await startSimulator({});
  const env = parseEnvironment({
    // The simulator's credentials for what is not set below; spawned processes inherit it with the rest of `env`.
    MESSAGING_PROFILE: 'development',
    MONGODB_URL: `mongodb://127.0.0.1:${process.env.TEST_MONGODB_PORT}/test_${suffix}`,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: `test-${suffix}`,
    TEMPORAL_UI_URL: `http://127.0.0.1:${process.env.TEST_TEMPORAL_UI_PORT}`,
    SMTP_URL: simulator.smtpUrl,
    TWILIO_BASE_URL: simulator.httpUrl,
    KALEYRA_BASE_URL: simulator.httpUrl,
    FCM_BASE_URL: simulator.httpUrl,
    FCM_TOKEN_URL: `${simulator.httpUrl}/token`,
    FCM_CREDENTIALS_PATH: process.env.TEST_FCM_CREDENTIALS,
    INFOBIP_BASE_URL: simulator.httpUrl,
    FILE_SERVICE_URL: simulator.httpUrl,
    FLOW_MANAGER_URL: simulator.httpUrl,
    // Trusted in the development profile as the signer of the SES and Pinpoint events it posts as SNS notifications.
    SIMULATOR_URL: simulator.httpUrl,
    SEND_WAIT_MS: '20000',
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const service = serviceConfigSchema.parse({
    activeChannels: ['email', 'sms', 'push', 'voice', 'whatsapp'],
    androidIntentAction: 'OPEN_ACTIVITY',
    dispatchRetry: FAST_RETRY,
    fanOut: options.fanOut ?? SMALL_FAN_OUT,
    ...options.service,
  });
  const config: AppConfig = { env, service };
  const database = await connectDatabase(config).catch(async (error: unknown) => {
    await simulator.close();
    throw error;
  });
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  const temporal = new Client({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: temporalDataConverter(env),
  });
  const app = await buildApp({
    config,
    database,
    temporal,
    logger: false,
  });

  let worker: RunningWorker | undefined;
  let running: Promise<void> | undefined;
  const startWorker = async () => {
    worker = await createWorker(config, {
      workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
      workflowsPath: undefined,
      ...options.workerOptions,
    });
    running = worker.run();
  };
  const stopWorker = async () => {
    worker?.shutdown();
    await running;
    worker = undefined;
  };
  if (options.worker !== false) await startWorker();

  const childProcesses: ManagedProcess[] = [];
  const root = path.resolve(__dirname, '../..');
  /** The environment of a spawned worker or API: the stack's env and service configuration. */
  const processEnvironment = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const configPath = path.join(process.env.TEST_WORK_DIR!, `service-${suffix}.json`);
    writeFileSync(configPath, JSON.stringify(service));
    const processEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const [key, value] of Object.entries(env)) {
      if (value !== undefined) processEnv[key] = Array.isArray(value) ? value.join(',') : String(value);
    }
    return Object.assign(processEnv, { CONFIGURATION_PATH: configPath, LOG_LEVEL: 'info' }, extra);
  };
  // `node --import tsx`, not the `tsx` binary: tsx runs the script in a child process of its own, so a SIGKILL
  // of the binary would kill its wrapper and leave the real worker or API running, orphaned.
  const spawnTs = (
    entry: string,
    env: NodeJS.ProcessEnv,
    stdout: 'pipe' | 'ignore',
    onOutput?: (text: string) => void,
  ) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
      cwd: root,
      env,
      stdio: ['ignore', onOutput ? 'pipe' : stdout, onOutput ? 'pipe' : 'inherit'],
    });
    if (onOutput) {
      child.stdout!.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => {
        onOutput(chunk.toString());
        process.stderr.write(chunk);
      });
    }
    return child;
  };
  const spawnWorkerProcess = async (options: SpawnOptions = {}) => {
    const child = spawnTs('worker/main.ts', processEnvironment(options.env), 'pipe', options.onOutput);
    const managed = manage('worker', child);
    childProcesses.push(managed);
    // The worker logs one JSON line `worker started` once it polls.
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout!.on('data', (chunk) => {
        output += chunk;
        if (output.includes('worker started')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker process exited with ${code}`)));
    });
    return managed;
  };
  const spawnApiProcess = async (port?: number, options: SpawnOptions = {}) => {
    const apiPort = port ?? (await freePort());
    // Request logs would flood the test output; errors still reach stderr.
    const child = spawnTs(
      'api/server.ts',
      processEnvironment({ HTTP_PORT: String(apiPort), LOG_LEVEL: 'error', ...options.env }),
      'ignore',
      options.onOutput,
    );
    const managed = manage('api', child);
    childProcesses.push(managed);
    // server.ts connects to MongoDB and Temporal before it listens: an open port is a ready API.
    await waitForPort(apiPort, 60000, child);
    return { process: managed, port: apiPort, url: `http://127.0.0.1:${apiPort}` };
  };

  return {
    config,
    database,
    simulator,
    app,
    temporal,
    startWorker,
    stopWorker,
    spawnWorkerProcess,
    spawnApiProcess,
    async sim<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, json?: unknown) {
      const response = await request(`${simulator.httpUrl}${path}`, {
        method,
        headers: json === undefined ? {} : { 'content-type': 'application/json' },
        body: json === undefined ? undefined : JSON.stringify(json),
      });
      const text = await response.body.text();
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async close() {
      for (const child of childProcesses) await child.stop();
      await stopWorker();
      await app.close();
      await connection.close();
      await database.db.dropDatabase().catch(() => undefined);
      await database.close();
      await simulator.close();
    },
  };
}
