import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { searchAttributeFlags } from '../common/temporal/search-attributes';

/**
 * The local servers shared by `npm run dev`, the tests and the benchmarks: the Temporal CLI dev server and
 * FerretDB on SQLite, as child processes, plus helpers to find free ports and wait for them.
 */

export const TOOLS_DIR =
  process.env.MESSAGING_TOOLS_DIR ?? path.join(os.homedir(), '.cache', 'messaging-service', 'bin');

/**
 * The worker's heap limit. Without one, V8 lets a busy worker's heap grow far past what it holds live (682 MB
 * RSS at 1000 deliveries/s in the bench, against 367 MB with a limit and the same throughput): garbage is
 * collected later, not less. Set for every worker the scripts start (`npm run dev`, the bench, compose).
 */
export const WORKER_NODE_OPTIONS = '--max-old-space-size=384';

export function toolPath(name: 'temporal' | 'ferretdb'): string {
  const candidate = path.join(TOOLS_DIR, name);
  if (existsSync(candidate)) return candidate;
  throw new Error(`${name} not found in ${TOOLS_DIR}: run \`npm run install-tools\``);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null)
      throw new Error(`process exited with code ${child.exitCode} before port ${port} opened`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function manage(name: string, child: ChildProcess): ManagedProcess {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    name,
    child,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface TemporalOptions {
  port: number;
  uiPort: number;
  /** SQLite file that keeps history across restarts; in memory when absent. */
  dbFile?: string;
  logFile?: string;
  /** Extra lines to pass through to stdout/stderr. */
  stdio?: 'ignore' | 'inherit';
  /** The codec server the Web UI decodes payloads with (the API's `/codec`), so that it shows them decrypted. */
  uiCodecEndpoint?: string;
}

/** Starts `temporal server start-dev` with our search attributes registered (docs/internals.md). */
export async function startTemporal(options: TemporalOptions): Promise<ManagedProcess> {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--log-level',
    'error',
    ...searchAttributeFlags(),
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
  ];
  const child = spawn(toolPath('temporal'), args, { stdio: options.stdio ?? 'ignore' });
  const managed = manage('temporal', child);
  await waitForPort(options.port, 60000, child);
  await waitForPort(options.uiPort, 30000, child);
  return managed;
}

export interface FerretDbOptions {
  port: number;
  /** Folder of the SQLite databases. */
  dir: string;
  stdio?: 'ignore' | 'inherit';
}

/** Starts FerretDB on SQLite; each instance gets its own debug port (the default :8088 clashes). */
export async function startFerretDb(options: FerretDbOptions): Promise<ManagedProcess> {
  mkdirSync(options.dir, { recursive: true });
  const debugPort = await freePort();
  const child = spawn(
    toolPath('ferretdb'),
    [
      '--handler=sqlite',
      `--sqlite-url=file:${path.resolve(options.dir)}/`,
      `--listen-addr=127.0.0.1:${options.port}`,
      `--debug-addr=127.0.0.1:${debugPort}`,
      '--telemetry=disable',
      // FerretDB writes a state.json; keep it beside the data instead of in the working directory.
      `--state-dir=${path.resolve(options.dir)}`,
      '--log-level=error',
    ],
    { stdio: options.stdio ?? 'ignore' },
  );
  const managed = manage('ferretdb', child);
  await waitForPort(options.port, 30000, child);
  return managed;
}

/**
 * Writes a throwaway FCM service account (a fresh RSA key) for the simulator's OAuth endpoint, which checks
 * the JWT's shape, not its signature. Real deployments point FCM_CREDENTIALS_PATH at Google's JSON key.
 */
export function ensureFcmServiceAccount(file: string): string {
  if (existsSync(file)) return file;
  mkdirSync(path.dirname(file), { recursive: true });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const account = {
    type: 'service_account',
    project_id: 'simulator-project',
    client_email: 'messaging@simulator-project.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  writeFileSync(file, JSON.stringify(account, null, 2), { mode: 0o600 });
  return file;
}
