import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/local-stack';
import { DEMO_TEMPLATE_ID } from '../../scripts/demo-data';

/**
 * The README's first command, as a new user runs it: `npm run dev` starts Temporal, FerretDB, the simulator,
 * the worker and the API and seeds the demo data; the printed example send reaches the simulator inbox and
 * the workflow shows its activities in Temporal; Ctrl-C stops everything.
 */
describe('npm run dev, end to end', () => {
  const root = path.resolve(__dirname, '../..');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'messaging-dev-'));
  let child: ChildProcess;
  let output = '';
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    for (const name of ['api', 'temporal', 'temporalUi', 'mongo', 'simHttp', 'simSmtp']) ports[name] = await freePort();
    const env = { ...process.env, MONGODB_URL: '', API_KEYS: '', LOG_LEVEL: 'warn' };
    child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['scripts/dev.ts'], {
      cwd: root,
      env: {
        ...env,
        HTTP_PORT: String(ports.api),
        DEV_TEMPORAL_PORT: String(ports.temporal),
        DEV_TEMPORAL_UI_PORT: String(ports.temporalUi),
        DEV_FERRETDB_PORT: String(ports.mongo),
        SIMULATOR_HTTP_PORT: String(ports.simHttp),
        SIMULATOR_SMTP_PORT: String(ports.simSmtp),
        DEV_DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const deadline = Date.now() + 90000;
    while (!output.includes('Messaging Service is running')) {
      if (child.exitCode !== null) throw new Error(`npm run dev exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm run dev did not start in time:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 120000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URLs and an example curl', () => {
    expect(output).toContain(`http://localhost:${ports.api}/documentation`);
    expect(output).toContain(`http://localhost:${ports.temporalUi}`);
    expect(output).toContain(`http://127.0.0.1:${ports.simHttp}/`);
    expect(output).toContain('curl -s -X POST');
  });

  it('sends the example to the demo cluster and the simulator inbox shows it, the workflow its activities', async () => {
    const response = await fetch(`http://localhost:${ports.api}/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        channels: ['email', 'sms', 'push'],
        clusters: ['demo'],
        templateId: DEMO_TEMPLATE_ID,
        data: { appointmentDate: '01/01/2021', type: 'patients', firstName: 'Mario', lastName: 'Rossi' },
      }),
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { failures: unknown[]; recipients: number; workflowId: string };
    expect(result).toMatchObject({ failures: [], recipients: 3 });

    const { messages } = (await (await fetch(`http://127.0.0.1:${ports.simHttp}/messages?channel=email`)).json()) as {
      messages: { to: string; subject: string; html: string }[];
    };
    expect(messages.map((message) => message.to).sort()).toEqual([
      'anna.bianchi@example.com',
      'luigi.verdi@example.com',
      'mario.rossi@example.com',
    ]);
    expect(messages.find((message) => message.to.startsWith('mario'))!.html).toContain('Hello, Mario!');
    const inbox = await (await fetch(`http://127.0.0.1:${ports.simHttp}/`)).text();
    expect(inbox).toContain('mario.rossi@example.com');

    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    try {
      const history = await new Client({ connection }).workflow.getHandle(result.workflowId).fetchHistory();
      const activities = (history.events ?? [])
        .map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter(Boolean);
      expect(activities).toEqual(
        expect.arrayContaining([
          'snapshotAudience',
          'loadAudiencePage',
          'dispatchEmail',
          'dispatchSms',
          'dispatchPush',
          'finishSend',
        ]),
      );
    } finally {
      await connection.close();
    }
    const ui = await fetch(`http://localhost:${ports.temporalUi}/`);
    expect(ui.status).toBe(200);
  });

  it('stops everything on Ctrl-C', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const stillOpen = await fetch(`http://localhost:${ports.api}/-/healthz`).then(
      () => true,
      () => false,
    );
    expect(stillOpen).toBe(false);
  }, 30000);
});
