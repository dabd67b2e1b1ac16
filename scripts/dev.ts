import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkChannelProviders } from '../activities/providers';
import { connectDatabase } from '../common/store/db';
import { DEMO_TEMPLATE_ID, seedDemoData } from './demo-data';
import { readableLogLines } from './dev-log-format';
import { describeSettings, isSet, redact, resolveDevSettings } from './dev-settings';
import {
  ensureFcmServiceAccount,
  manage,
  startFerretDb,
  startTemporal,
  waitForPort,
  WORKER_NODE_OPTIONS,
  type ManagedProcess,
} from './local-stack';
import { describeExit, SupervisedProcess } from './supervisor';

/**
 * `npm run dev`: the whole service on one machine, as a supervisor. Temporal (history kept in .data/temporal.db) unless
 * TEMPORAL_ADDRESS is set, FerretDB on SQLite in .data/ferretdb unless MONGODB_URL is set, the provider simulator, the
 * worker and the API, each a child process. A worker or API that exits is started again (with backoff); a server that
 * exits stops everything. Settings the user made win over the dev stack's (scripts/dev-settings.ts). Ports and the data
 * folder move with DEV_* variables (docs/development.md "The local stack").
 */
const root = path.resolve(__dirname, '..');
const dataDir = path.resolve(process.env.DEV_DATA_DIR || path.join(root, '.data'));
// `node --import tsx`, not the tsx binary, which runs the script in a child of its own: the pid printed for the
// worker must be the worker's, so that `kill -9` kills it and not a wrapper that leaves it running.
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;

const servers: ManagedProcess[] = [];
const apps: SupervisedProcess[] = [];
let stopping = false;

function log(line: string): void {
  console.log(`[dev] ${line}`);
}

/** Stops everything that was started, newest first, so Ctrl-C leaves no process behind. */
async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping...');
  // Together: stopping one must not leave time for the other to be restarted.
  await Promise.all(apps.map((app) => app.stop()));
  for (const server of [...servers].reverse()) await server.stop();
  process.exit(code);
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!isSet(raw)) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} must be a port, got ${raw}`);
  return value;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

/**
 * Stops at once on a port that something else holds: our server would not start, and the check that it is
 * listening would find the other one (an API that cannot bind would then be restarted forever).
 */
async function assertFree(ports: Record<string, number>): Promise<void> {
  const taken: string[] = [];
  for (const [variable, port] of Object.entries(ports)) if (!(await isFree(port))) taken.push(`${port} (${variable})`);
  if (taken.length > 0) throw new Error(`in use: port ${taken.join(', port ')}; free it or move it with its variable`);
}

/**
 * A server the stack cannot run without: its exit stops everything, with a message saying which one. Temporal
 * and FerretDB share the terminal's process group, so Ctrl-C stops them too: their exit is read a moment later,
 * once `npm run dev` has seen the same Ctrl-C.
 */
function watchServer(server: ManagedProcess, label: string): void {
  servers.push(server);
  server.child.once('exit', (code, signal) => {
    setTimeout(() => {
      if (stopping) return;
      console.error(`[dev] ${label} (pid ${server.child.pid}) ${describeExit(code, signal)}: stopping everything`);
      void stopAll(1);
    }, 200);
  });
}

/**
 * Starts one of our TypeScript entry points. In a process group of its own: Ctrl-C reaches `npm run dev` alone,
 * which stops the API and the worker, then the servers, each with one SIGTERM (a worker that got the
 * terminal's SIGINT as well would be shut down twice).
 */
function runTypeScript(entry: string, env: NodeJS.ProcessEnv, stdout: 'readable logs' | 'ignore'): ChildProcess {
  const child = spawn(process.execPath, ['--import', tsxLoader, path.join(root, entry)], {
    env,
    stdio: ['ignore', stdout === 'ignore' ? 'ignore' : 'pipe', 'inherit'],
    detached: true,
  });
  // The child writes JSON log lines, as in production; a person reads them here.
  if (stdout === 'readable logs') child.stdout?.pipe(readableLogLines());
  return child;
}

/** The worker's heap limit (local-stack.ts), unless the user's NODE_OPTIONS sets one. */
function workerNodeOptions(own: string | undefined): string {
  if (own?.includes('--max-old-space-size')) return own;
  return [own, WORKER_NODE_OPTIONS].filter(isSet).join(' ');
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stopAll(0));
  process.on('uncaughtException', (error) => {
    console.error(`npm run dev failed: ${error.stack ?? error.message}`);
    void stopAll(1);
  });

  const ports = {
    api: port('HTTP_PORT', 3000),
    temporal: port('DEV_TEMPORAL_PORT', 7233),
    temporalUi: port('DEV_TEMPORAL_UI_PORT', 8233),
    mongo: port('DEV_FERRETDB_PORT', 27017),
    simulatorHttp: port('SIMULATOR_HTTP_PORT', 4010),
    simulatorSmtp: port('SIMULATOR_SMTP_PORT', 2525),
  };
  const simulatorUrl = `http://127.0.0.1:${ports.simulatorHttp}`;
  const fcmCredentialsPath = path.join(dataDir, 'fcm-service-account.json');
  // Validated before anything starts, so a bad value stops `npm run dev` with its name at once.
  const {
    env,
    config,
    settings,
    startTemporal: ownTemporal,
    startFerretDb: ownFerretDb,
  } = resolveDevSettings(
    { ...process.env, HTTP_PORT: String(ports.api) },
    {
      temporalAddress: `127.0.0.1:${ports.temporal}`,
      temporalUiUrl: `http://localhost:${ports.temporalUi}`,
      mongoUrl: `mongodb://127.0.0.1:${ports.mongo}/messaging`,
      simulatorHttpUrl: simulatorUrl,
      simulatorSmtpUrl: `smtp://127.0.0.1:${ports.simulatorSmtp}`,
      fcmCredentialsPath,
    },
  );
  console.log('Settings (yours win; npm run dev fills in what you left unset):');
  for (const line of describeSettings(settings, config.env.CONFIGURATION_PATH)) console.log(line);
  await assertFree({
    HTTP_PORT: ports.api,
    ...(ownTemporal ? { DEV_TEMPORAL_PORT: ports.temporal, DEV_TEMPORAL_UI_PORT: ports.temporalUi } : {}),
    ...(ownFerretDb ? { DEV_FERRETDB_PORT: ports.mongo } : {}),
    SIMULATOR_HTTP_PORT: ports.simulatorHttp,
    SIMULATOR_SMTP_PORT: ports.simulatorSmtp,
  });

  mkdirSync(dataDir, { recursive: true });
  if (!isSet(process.env.FCM_CREDENTIALS_PATH)) ensureFcmServiceAccount(fcmCredentialsPath);
  // What the worker will check at its boot (provider settings, the FCM key), checked before anything starts.
  await checkChannelProviders(config);
  if (ownTemporal) {
    console.log('starting Temporal dev server...');
    const dbFile = path.join(dataDir, 'temporal.db');
    // The UI decodes payloads through the API (docs/operations.md "Encryption of workflow data").
    const uiCodecEndpoint = `http://localhost:${ports.api}/codec`;
    watchServer(
      await startTemporal({ port: ports.temporal, uiPort: ports.temporalUi, dbFile, uiCodecEndpoint }),
      'Temporal',
    );
  }
  if (ownFerretDb) {
    const dir = path.join(dataDir, 'ferretdb');
    console.log(`starting FerretDB (SQLite in ${dir})...`);
    watchServer(await startFerretDb({ port: ports.mongo, dir }), 'FerretDB');
  }
  console.log('starting the provider simulator...');
  const simulator = runTypeScript(
    'simulator/main.ts',
    {
      ...process.env,
      SIMULATOR_HTTP_PORT: String(ports.simulatorHttp),
      SIMULATOR_SMTP_PORT: String(ports.simulatorSmtp),
    },
    'ignore',
  );
  watchServer(manage('simulator', simulator), 'the provider simulator');
  await waitForPort(ports.simulatorHttp, 30000, simulator);
  await waitForPort(ports.simulatorSmtp, 30000, simulator);

  const database = await connectDatabase(config);
  await seedDemoData(database, config.service.userFields);
  await database.close();

  const onExitBeforeReady = (message: string) => {
    if (stopping) return;
    console.error(`[dev] ${message}: stopping everything`);
    void stopAll(1);
  };
  const workerEnv = { ...env, NODE_OPTIONS: workerNodeOptions(env.NODE_OPTIONS) };
  apps.push(
    new SupervisedProcess({
      name: 'worker',
      start: () => runTypeScript('worker/main.ts', workerEnv, 'readable logs'),
      onExitBeforeReady,
      log,
    }),
    new SupervisedProcess({
      name: 'api',
      start: () => runTypeScript('api/server.ts', env, 'readable logs'),
      onExitBeforeReady,
      log,
    }),
  );
  await waitForPort(ports.api, 60000);
  for (const app of apps) app.restartOnExit();

  const api = `http://localhost:${ports.api}`;
  const pids = [...servers.map((server) => ({ name: server.name, pid: server.child.pid })), ...apps];
  console.log(`
Messaging Service is running.
  API              ${api}
  OpenAPI docs     ${api}/documentation
  Temporal UI      ${config.env.TEMPORAL_UI_URL}
  Simulator inbox  ${simulatorUrl}/
  MongoDB          ${redact(config.env.MONGODB_URL)}

Processes (a worker or API that exits is started again; Temporal, FerretDB or the simulator exiting stops everything):
${pids.map(({ name, pid }) => `  ${name.padEnd(10)} pid ${pid}`).join('\n')}

Try it (the seeds' example, to the "demo" cluster):
  curl -s -X POST ${api}/send -H 'content-type: application/json' -d '{
    "channels": ["email", "sms", "push"],
    "clusters": ["demo"],
    "templateId": "${DEMO_TEMPLATE_ID}",
    "data": { "appointmentDate": "01/01/2021", "type": "patients", "firstName": "Mario", "lastName": "Rossi" }
  }'

Ctrl-C stops everything.
`);
}

main().catch((error: unknown) => {
  console.error(`npm run dev failed: ${(error as Error).message}`);
  void stopAll(1);
});
