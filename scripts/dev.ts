import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../common/config';
import { connectDatabase } from '../common/db';
import { startSimulator, type RunningSimulator } from '../simulator';
import { DEMO_TEMPLATE_ID, seedDemoData } from './demo-data';
import {
  ensureFcmServiceAccount,
  manage,
  startFerretDb,
  startTemporal,
  waitForPort,
  WORKER_NODE_OPTIONS,
  type ManagedProcess,
} from './local-stack';

/**
 * `npm run dev`: the whole service on one machine. Temporal (history kept in .data/temporal.db), FerretDB on
 * SQLite in .data/ferretdb unless MONGODB_URL is set, the provider simulator, the worker and the API.
 * Ports and the data folder can be moved with DEV_* variables (see README), which the end-to-end test uses.
 */
const root = path.resolve(__dirname, '..');
const dataDir = path.resolve(process.env.DEV_DATA_DIR ?? path.join(root, '.data'));
const ports = {
  api: Number(process.env.HTTP_PORT ?? 3000),
  temporal: Number(process.env.DEV_TEMPORAL_PORT ?? 7233),
  temporalUi: Number(process.env.DEV_TEMPORAL_UI_PORT ?? 8233),
  mongo: Number(process.env.DEV_FERRETDB_PORT ?? 27017),
  simulatorHttp: Number(process.env.SIMULATOR_HTTP_PORT ?? 4010),
  simulatorSmtp: Number(process.env.SIMULATOR_SMTP_PORT ?? 2525),
};

const processes: ManagedProcess[] = [];
let simulator: RunningSimulator | undefined;
let stopping = false;

/** Stops everything that was started, newest first, so Ctrl-C leaves no server behind. */
async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping...');
  for (const managed of [...processes].reverse()) await managed.stop();
  await simulator?.close();
  process.exit(code);
}

async function main(): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  console.log('starting Temporal dev server...');
  processes.push(
    await startTemporal({ port: ports.temporal, uiPort: ports.temporalUi, dbFile: path.join(dataDir, 'temporal.db') }),
  );

  let mongoUrl = process.env.MONGODB_URL;
  if (!mongoUrl) {
    console.log('starting FerretDB (SQLite in .data/ferretdb)...');
    processes.push(await startFerretDb({ port: ports.mongo, dir: path.join(dataDir, 'ferretdb') }));
    mongoUrl = `mongodb://127.0.0.1:${ports.mongo}/messaging`;
  }

  simulator = await startSimulator({ httpPort: ports.simulatorHttp, smtpPort: ports.simulatorSmtp });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HTTP_PORT: String(ports.api),
    MONGODB_URL: mongoUrl,
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_UI_URL: `http://localhost:${ports.temporalUi}`,
    SMTP_URL: process.env.SMTP_URL ?? simulator.smtpUrl,
    TWILIO_BASE_URL: process.env.TWILIO_BASE_URL ?? simulator.httpUrl,
    KALEYRA_BASE_URL: process.env.KALEYRA_BASE_URL ?? simulator.httpUrl,
    FCM_BASE_URL: process.env.FCM_BASE_URL ?? simulator.httpUrl,
    FCM_TOKEN_URL: process.env.FCM_TOKEN_URL ?? `${simulator.httpUrl}/token`,
    FCM_CREDENTIALS_PATH:
      process.env.FCM_CREDENTIALS_PATH ?? ensureFcmServiceAccount(path.join(dataDir, 'fcm-service-account.json')),
    INFOBIP_BASE_URL: process.env.INFOBIP_BASE_URL ?? simulator.httpUrl,
    FILE_SERVICE_URL: process.env.FILE_SERVICE_URL ?? simulator.httpUrl,
    FLOW_MANAGER_URL: process.env.FLOW_MANAGER_URL ?? simulator.httpUrl,
  };

  // Validate once here so a bad value stops `npm run dev` with the variable's name, before anything forks.
  const config = loadConfig(env);
  const database = await connectDatabase(config);
  await seedDemoData(database, config.service.userFields);
  await database.close();

  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  for (const [name, entry] of [
    ['worker', 'worker/main.ts'],
    ['api', 'api/server.ts'],
  ] as const) {
    const childEnv = name === 'worker' ? { ...env, NODE_OPTIONS: WORKER_NODE_OPTIONS } : env;
    const child = spawn(tsx, [path.join(root, entry)], { env: childEnv, stdio: 'inherit' });
    child.once('exit', (code) => {
      if (!stopping) {
        console.error(`${name} exited with code ${code}`);
        void stopAll(1);
      }
    });
    processes.push(manage(name, child));
  }
  await waitForPort(ports.api, 60000);

  const api = `http://localhost:${ports.api}`;
  console.log(`
Messaging Service is running.
  API              ${api}
  OpenAPI docs     ${api}/documentation
  Temporal UI      http://localhost:${ports.temporalUi}
  Simulator inbox  ${simulator.httpUrl}/
  MongoDB          ${mongoUrl}

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
