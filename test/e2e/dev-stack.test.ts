import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/local-stack';
import { DEMO_TEMPLATE_ID } from '../../scripts/demo-data';
import { sagaSendId } from '../../common/temporal/workflow-ids';
import { waitFor } from '../support/fixtures';

/**
 * The README's first command, as a new user runs it: `npm run dev` starts Temporal, FerretDB, the simulator,
 * the worker and the API and seeds the demo data; the printed example send reaches the simulator inbox and
 * the workflow shows its activities in Temporal. As a supervisor: a worker or API killed with SIGKILL is started
 * again and a send in flight finishes, a server that dies stops everything, Ctrl-C stops everything. Settings
 * the user made (FLOW_MANAGER_URL, the configuration file's serviceUrl) are not replaced by the dev stack's.
 */
const root = path.resolve(__dirname, '../..');
/** The settings `npm run dev` fills in, blanked so that a shell's own do not reach the stacks under test. */
const UNSET = Object.fromEntries(
  [
    'TEMPORAL_ADDRESS',
    'TEMPORAL_UI_URL',
    'MONGODB_URL',
    'SMTP_URL',
    'TWILIO_BASE_URL',
    'KALEYRA_BASE_URL',
    'FCM_BASE_URL',
    'FCM_TOKEN_URL',
    'FCM_CREDENTIALS_PATH',
    'INFOBIP_BASE_URL',
    'FILE_SERVICE_URL',
    'SIMULATOR_URL',
    'AWS_ENDPOINT_URL',
    'FLOW_MANAGER_URL',
    'CONFIGURATION_PATH',
    'MESSAGING_PROFILE',
  ].map((variable) => [variable, '']),
);

/** One `npm run dev` on free ports, with its output kept (not printed) and the pids it reports. */
class DevStack {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly ports: Record<'api' | 'temporal' | 'temporalUi' | 'mongo' | 'simHttp' | 'simSmtp', number>,
    readonly dataDir: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['scripts/dev.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...UNSET,
        API_KEYS: '',
        LOG_LEVEL: 'warn',
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
    this.child.stdout!.on('data', (chunk) => (this.output += chunk));
    this.child.stderr!.on('data', (chunk) => (this.output += chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  static async start(env: NodeJS.ProcessEnv = {}): Promise<DevStack> {
    const ports = {
      api: await freePort(),
      temporal: await freePort(),
      temporalUi: await freePort(),
      mongo: await freePort(),
      simHttp: await freePort(),
      simSmtp: await freePort(),
    };
    const stack = new DevStack(ports, mkdtempSync(path.join(os.tmpdir(), 'messaging-dev-')), env);
    const deadline = Date.now() + 90000;
    while (!stack.output.includes('Messaging Service is running')) {
      const failure =
        stack.child.exitCode !== null ? 'exited early' : Date.now() > deadline ? 'did not start in time' : undefined;
      if (failure) {
        await stack.stop();
        throw new Error(`npm run dev ${failure}:\n${stack.output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return stack;
  }

  get api(): string {
    return `http://localhost:${this.ports.api}`;
  }

  get simulator(): string {
    return `http://127.0.0.1:${this.ports.simHttp}`;
  }

  /** The pid of `name` printed at start, or of its latest restart. */
  pid(name: string): number {
    const pid = this.printedPid(name);
    if (pid === undefined) throw new Error(`no pid printed for ${name}:\n${this.output}`);
    return pid;
  }

  private printedPid(name: string): number | undefined {
    const restarts = [...this.output.matchAll(new RegExp(`\\[dev\\] ${name} restarted: pid (\\d+)`, 'g'))];
    const printed = restarts.at(-1) ?? this.output.match(new RegExp(`^  ${name} +pid (\\d+)$`, 'm'));
    return printed ? Number(printed[1]) : undefined;
  }

  /** Every pid printed, at start and at restarts. */
  allPids(): number[] {
    const pids = [...this.output.matchAll(/^ {2}\S+ +pid (\d+)$|\[dev\] \S+ restarted: pid (\d+)/gm)];
    return pids.map((match) => Number(match[1] ?? match[2]));
  }

  /** After a failed test: Ctrl-C, and if that does not do, SIGKILL to `npm run dev` and its current children. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      this.child.kill('SIGINT');
      const stopped = await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 20000, 'late'))]);
      if (stopped === 'late') {
        const children = ['api', 'worker', 'simulator', 'ferretdb', 'temporal'].map((name) => this.printedPid(name));
        this.child.kill('SIGKILL');
        for (const pid of children) if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}`);
  return (await response.json()) as T;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/** A stand-in Flow Manager that records the saga ids of the events it receives. */
async function startFlowManager(): Promise<{ url: string; events: string[]; server: Server }> {
  const events: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/event') events.push((JSON.parse(body) as { key: string }).key);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, events, server };
}

/** A saga send of the demo template to one demo user (docs/operating-sends.md "Saga sends"), to reach the Flow Manager. */
async function sagaSend(stack: DevStack, sagaId: string): Promise<void> {
  const response = await post(`${stack.api}/saga/send`, {
    key: sagaId,
    value: {
      messageLabel: 'sendNotification',
      messagePayload: {
        notification: { channels: ['email'], template: DEMO_TEMPLATE_ID },
        buyer: { id: '64a000000000000000000002' },
      },
    },
  });
  expect(response.status).toBe(200);
  // The success event goes once the send has started, so the send may still be delivering: a later test that counts
  // the inbox must not find this send's email in it.
  await waitFor(async () => {
    const send = await fetch(`${stack.api}/sends/${sagaSendId(sagaId)}`);
    return send.ok && ((await send.json()) as { status: string }).status !== 'running';
  }, 60000);
}

const simulatorEvents = (stack: DevStack, sagaId: string) =>
  json<{ count: number }>(`${stack.simulator}/messages/count?channel=event&to=${sagaId}`);

describe('npm run dev, end to end', () => {
  let stack: DevStack;
  let flowManager: Awaited<ReturnType<typeof startFlowManager>>;
  let configDir: string;

  beforeAll(async () => {
    configDir = mkdtempSync(path.join(os.tmpdir(), 'messaging-dev-config-'));
    // The configuration a user would write: config/default.json with the Flow Manager of their own.
    flowManager = await startFlowManager();
    const configuration = JSON.parse(readFileSync(path.join(root, 'config/default.json'), 'utf8'));
    configuration.flowManagerConfiguration.serviceUrl = flowManager.url;
    const configurationPath = path.join(configDir, 'service.json');
    writeFileSync(configurationPath, JSON.stringify(configuration));
    stack = await DevStack.start({ CONFIGURATION_PATH: configurationPath });
  }, 120000);

  afterAll(async () => {
    await stack?.stop();
    flowManager?.server.close();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  it('prints the URLs, the pid of each process and an example curl', () => {
    expect(stack.output).toContain(`http://localhost:${stack.ports.api}/documentation`);
    expect(stack.output).toContain(`http://localhost:${stack.ports.temporalUi}`);
    expect(stack.output).toContain(`http://127.0.0.1:${stack.ports.simHttp}/`);
    expect(stack.output).toContain('curl -s -X POST');
    for (const name of ['temporal', 'ferretdb', 'simulator', 'worker', 'api'])
      expect(alive(stack.pid(name))).toBe(true);
  });

  it('sends the example to the demo cluster and the simulator inbox shows it, the workflow its activities', async () => {
    const response = await post(`${stack.api}/send`, {
      channels: ['email', 'sms', 'push'],
      clusters: ['demo'],
      templateId: DEMO_TEMPLATE_ID,
      data: { appointmentDate: '01/01/2021', type: 'patients', firstName: 'Mario', lastName: 'Rossi' },
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { failures: unknown[]; recipients: number; workflowId: string };
    expect(result).toMatchObject({ failures: [], recipients: 3 });

    const { messages } = await json<{ messages: { to: string; subject: string; html: string }[] }>(
      `${stack.simulator}/messages?channel=email`,
    );
    expect(messages.map((message) => message.to).sort()).toEqual([
      'anna.bianchi@example.com',
      'luigi.verdi@example.com',
      'mario.rossi@example.com',
    ]);
    expect(messages.find((message) => message.to.startsWith('mario'))!.html).toContain('Hello, Mario!');
    const inbox = await (await fetch(`${stack.simulator}/`)).text();
    expect(inbox).toContain('mario.rossi@example.com');

    const connection = await Connection.connect({ address: `127.0.0.1:${stack.ports.temporal}` });
    try {
      const history = await new Client({ connection }).workflow.getHandle(result.workflowId).fetchHistory();
      const activities = (history.events ?? [])
        .map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter(Boolean);
      expect(activities).toEqual(
        expect.arrayContaining([
          'snapshotAudience',
          'loadAudiencePageAndEnd',
          'dispatchEmail',
          'dispatchSms',
          'dispatchPush',
          'finishSend',
        ]),
      );
    } finally {
      await connection.close();
    }
    const ui = await fetch(`http://localhost:${stack.ports.temporalUi}/`);
    expect(ui.status).toBe(200);
    // The UI decodes the encrypted payloads through the API (docs/operations.md "Encryption of workflow data").
    const uiSettings = await json<{ Codec: { Endpoint: string } }>(
      `http://localhost:${stack.ports.temporalUi}/api/v1/settings`,
    );
    expect(uiSettings.Codec.Endpoint).toBe(`http://localhost:${stack.ports.api}/codec`);
  });

  it("leaves the configuration file's Flow Manager: a saga send's event reaches it, not the simulator", async () => {
    expect(stack.output).toMatch(
      new RegExp(`FLOW_MANAGER_URL +${flowManager.url} +unset: flowManagerConfiguration.serviceUrl of `),
    );
    const sagaId = `dev-config-${randomUUID()}`;
    await sagaSend(stack, sagaId);
    await waitFor(async () => flowManager.events.includes(sagaId), 30000);
    expect((await simulatorEvents(stack, sagaId)).count).toBe(0);
  });

  it('restarts the worker killed with SIGKILL; a send started before the kill finishes, every delivery sent once', async () => {
    await fetch(`${stack.simulator}/messages`, { method: 'DELETE' });
    // Each sms waits 10 s at the simulator, so the worker dies with three in flight; those three fail there, as the
    // walkthrough of docs/operating-sends.md "Kill the worker and watch" sets it up, so that the kill leaves nothing
    // accepted that the ledger never saw.
    await post(`${stack.simulator}/faults`, { target: 'sms', latencyMs: 10000, failNext: 3 });
    try {
      const started = await post(
        `${stack.api}/send`,
        { channels: ['email', 'sms', 'push'], clusters: ['demo'], templateId: DEMO_TEMPLATE_ID, data: {} },
        { prefer: 'respond-async' },
      );
      expect(started.status).toBe(202);
      const { sendId } = (await started.json()) as { sendId: string };
      const stats = () => json<{ requests: Record<string, number>; failedByFault: number }>(`${stack.simulator}/stats`);
      const send = () =>
        json<{ status: string; counts: Record<string, { sent?: number }> }>(`${stack.api}/sends/${sendId}`);
      // The kill lands once email and push are in the ledger and the three sms calls are waiting at the simulator.
      await waitFor(async () => {
        const { counts } = await send();
        return counts.email?.sent === 3 && counts.push?.sent === 2 && ((await stats()).requests.twilio ?? 0) >= 3;
      }, 30000);

      const killed = stack.pid('worker');
      process.kill(killed, 'SIGKILL');
      await waitFor(async () => stack.output.includes(`[dev] worker (pid ${killed}) was killed by SIGKILL`));
      const restarted = await waitFor(async () => (stack.pid('worker') !== killed ? stack.pid('worker') : undefined));
      expect(alive(restarted)).toBe(true);

      const finished = await waitFor(async () => {
        const current = await send();
        return current.status === 'running' ? undefined : current;
      }, 120000);
      expect(finished).toMatchObject({
        status: 'completed',
        counts: { email: { sent: 3 }, sms: { sent: 3 }, push: { sent: 2, skipped: 1 } },
      });
      const { messages } = await json<{ messages: { channel: string; to: string }[] }>(`${stack.simulator}/messages`);
      const sent = messages.map((message) => `${message.channel} ${message.to}`).sort();
      expect(sent).toEqual([...new Set(sent)]);
      expect(sent).toHaveLength(8);
      // The kill did cut the three sms calls short: they failed at the simulator, Temporal saw the worker's
      // heartbeats stop, and the new worker ran them again.
      expect((await stats()).failedByFault).toBe(3);
      const connection = await Connection.connect({ address: `127.0.0.1:${stack.ports.temporal}` });
      try {
        const history = await new Client({ connection }).workflow.getHandle(sendId).fetchHistory();
        const retriedAfterCrash = (history.events ?? []).filter(
          (event) =>
            event.activityTaskStartedEventAttributes?.attempt === 2 &&
            event.activityTaskStartedEventAttributes.lastFailure?.message === 'activity Heartbeat timeout',
        );
        expect(retriedAfterCrash).toHaveLength(3);
      } finally {
        await connection.close();
      }
      expect(stack.output).toContain(`[dev] worker restarted: pid ${restarted}`);
    } finally {
      await fetch(`${stack.simulator}/faults`, { method: 'DELETE' });
    }
  }, 180000);

  it('restarts the API killed with SIGKILL', async () => {
    const killed = stack.pid('api');
    process.kill(killed, 'SIGKILL');
    await waitFor(async () => stack.output.includes(`[dev] api (pid ${killed}) was killed by SIGKILL`));
    await waitFor(async () => stack.pid('api') !== killed, 10000);
    const health = await waitFor(
      () =>
        fetch(`${stack.api}/-/healthz`).then(
          (response) => response.status,
          () => undefined,
        ),
      30000,
    );
    expect(health).toBe(200);
  }, 60000);

  it('stops everything on Ctrl-C, children included, with exit code 0', async () => {
    const pids = stack.allPids();
    stack.child.kill('SIGINT');
    expect(await stack.exited).toBe(0);
    const stillOpen = await fetch(`${stack.api}/-/healthz`).then(
      () => true,
      () => false,
    );
    expect(stillOpen).toBe(false);
    expect(pids.filter(alive)).toEqual([]);
  }, 30000);
});

describe('npm run dev with FLOW_MANAGER_URL set, when a server dies', () => {
  let stack: DevStack;
  let flowManager: Awaited<ReturnType<typeof startFlowManager>>;

  beforeAll(async () => {
    flowManager = await startFlowManager();
    stack = await DevStack.start({ FLOW_MANAGER_URL: flowManager.url });
  }, 120000);

  afterAll(async () => {
    await stack?.stop();
    flowManager?.server.close();
  });

  it("keeps the user's FLOW_MANAGER_URL: a saga send's event reaches it, not the simulator", async () => {
    expect(stack.output).toMatch(new RegExp(`FLOW_MANAGER_URL +${flowManager.url} +set by you`));
    const sagaId = `dev-env-${randomUUID()}`;
    await sagaSend(stack, sagaId);
    await waitFor(async () => flowManager.events.includes(sagaId), 30000);
    expect((await simulatorEvents(stack, sagaId)).count).toBe(0);
  });

  it('stops everything, exit code 1, when Temporal dies, and says so', async () => {
    const pids = stack.allPids();
    const temporal = stack.pid('temporal');
    process.kill(temporal, 'SIGKILL');
    expect(await stack.exited).toBe(1);
    expect(stack.output).toContain(`[dev] Temporal (pid ${temporal}) was killed by SIGKILL: stopping everything`);
    expect(pids.filter(alive)).toEqual([]);
  }, 30000);
});

/** `npm run dev` on free ports (but `env`'s), to its exit: what a start refused before anything started looks like. */
async function runDevToExit(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'messaging-dev-refused-'));
  const ports = ['HTTP_PORT', 'DEV_TEMPORAL_PORT', 'DEV_TEMPORAL_UI_PORT', 'DEV_FERRETDB_PORT', 'SIMULATOR_HTTP_PORT'];
  try {
    const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['scripts/dev.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...UNSET,
        ...Object.fromEntries(
          await Promise.all(
            [...ports, 'SIMULATOR_SMTP_PORT'].map(async (variable) => [variable, String(await freePort())]),
          ),
        ),
        DEV_DATA_DIR: dataDir,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, output };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('npm run dev refused before it starts anything', () => {
  it('on a port in use, naming the port and its variable', async () => {
    const holder = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const { code, output } = await runDevToExit({ SIMULATOR_HTTP_PORT: String(port) });
      expect(code).toBe(1);
      expect(output).toContain(`in use: port ${port} (SIMULATOR_HTTP_PORT);`);
      expect(output).not.toContain('starting Temporal');
    } finally {
      holder.close();
    }
  }, 30000);

  it("on a provider setting the worker would refuse, with the worker's message", async () => {
    const { code, output } = await runDevToExit({ TWILIO_BASE_URL: 'api.twilio.com' });
    expect(code).toBe(1);
    expect(output).toContain(
      'invalid environment for the active channels: TWILIO_BASE_URL: Invalid URL (twilio sends sms)',
    );
    expect(output).toMatch(/MESSAGING_PROFILE +development +npm run dev/);
    expect(output).not.toContain('starting Temporal');
  }, 30000);
});
