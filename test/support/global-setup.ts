import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ensureFcmServiceAccount,
  freePort,
  startFerretDb,
  startTemporal,
  type ManagedProcess,
} from '../../scripts/local-stack';
import { writeWorkflowBundle } from '../../worker/workflow-bundle';

declare global {
  var __MESSAGING_TEST_SERVERS__: ManagedProcess[] | undefined;
}

/**
 * Starts the real servers once for the whole suite (docs/development.md "Tests": Temporal and MongoDB are never
 * mocked): a Temporal dev server and FerretDB, on free ports. Each test file then gets its own database, task queue and
 * simulator (test/support/test-stack.ts). The workflow bundle is built once here instead of once per worker.
 */
export default async function globalSetup(): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'messaging-test-'));
  const [temporalPort, temporalUiPort, mongoPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const [temporal, ferretdb] = await Promise.all([
    startTemporal({ port: temporalPort, uiPort: temporalUiPort }),
    startFerretDb({ port: mongoPort, dir: path.join(workDir, 'ferretdb') }),
  ]);
  globalThis.__MESSAGING_TEST_SERVERS__ = [temporal, ferretdb];

  const bundlePath = path.join(workDir, 'workflow-bundle.js');
  await writeWorkflowBundle(bundlePath);

  process.env.TEST_WORK_DIR = workDir;
  // On Node 20 (past its end of life, not supported, still on some development machines) the AWS SDK's notice that
  // its later versions need Node 22 is not a test result.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.TEST_TEMPORAL_ADDRESS = `127.0.0.1:${temporalPort}`;
  process.env.TEST_TEMPORAL_UI_PORT = String(temporalUiPort);
  process.env.TEST_MONGODB_PORT = String(mongoPort);
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEST_FCM_CREDENTIALS = ensureFcmServiceAccount(path.join(workDir, 'fcm-service-account.json'));
}
