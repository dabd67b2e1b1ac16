import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { parse } from 'yaml';
import { envSchema, parseEnvironment } from '../../providers/service-configuration';
import { WORKER_NODE_OPTIONS } from '../../scripts/local-stack';

// No test starts docker-compose.yml (no Docker in CI): these read it, the Dockerfile and package.json, and fail
// when one names what the others do not have, a setting the service does not read, a script or a compiled file
// that does not exist, or an image that is not pinned.
const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

interface ComposeService {
  image?: string;
  build?: string | { context?: string; target?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean> | string[];
  healthcheck?: { test: string | string[] };
  depends_on?: string[] | Record<string, { condition?: string }>;
  restart?: string;
  volumes?: string[];
  ports?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const services = Object.entries(compose.services);
const packageJson = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

interface DockerStage {
  name: string;
  from: string;
  cmd?: string[];
  user?: string;
  runs: string[];
}

/** The Dockerfile's stages, each with its base image (global ARGs substituted) and what it sets. */
function dockerStages(): DockerStage[] {
  const args: Record<string, string> = {};
  const stages: DockerStage[] = [];
  // Continuation lines join their instruction; comments go.
  const instructions = read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'));
  for (const line of instructions) {
    const [, keyword, rest] = /^\s*(\w+)\s+(.*)$/.exec(line) ?? [];
    const stage = stages.at(-1);
    if (keyword === 'ARG' && !stage) {
      const [name, value] = rest.split('=');
      args[name] = value;
    } else if (keyword === 'FROM') {
      const [, image, name] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest) ?? [];
      const from = image.replace(/\$\{(\w+)\}/g, (_, arg: string) => args[arg] ?? '');
      stages.push({ name: name ?? String(stages.length), from, runs: [] });
    } else if (keyword === 'CMD' && stage) stage.cmd = JSON.parse(rest) as string[];
    else if (keyword === 'USER' && stage) stage.user = rest.trim();
    else if (keyword === 'RUN' && stage) stage.runs.push(rest);
  }
  return stages;
}
const stages = dockerStages();
const stageNamed = (name: string) => stages.find((stage) => stage.name === name);
/** A stage's CMD or USER, inherited from the stage it is built FROM when it sets none. */
function inherited<K extends 'cmd' | 'user'>(stage: DockerStage | undefined, key: K): DockerStage[K] {
  return stage && (stage[key] ?? inherited(stageNamed(stage.from), key));
}
/** `build.target`, or the last stage, which `docker build` builds without one. */
function targetStage(service: ComposeService): DockerStage | undefined {
  if (!service.build) return undefined;
  const target = typeof service.build === 'object' ? service.build.target : undefined;
  return target ? stageNamed(target) : stages.at(-1);
}
const runtimeStage = stages.at(-1)!;
/** The API's and the worker's containers: the image that has production dependencies only. */
const serviceContainers = services.filter(([, service]) => targetStage(service) === runtimeStage);
/** The service container whose command runs `entry` (`dist/api/server.js`), with its name. */
function containerRunning(entry: string): [string, ComposeService] {
  const found = serviceContainers.find(([, service]) => effectiveCommand(service).includes(entry));
  if (!found) throw new Error(`no service runs ${entry}`);
  return found;
}
/**
 * Variables the AWS SDK reads besides the configuration schema's: the endpoints of the registered SES and Pinpoint
 * SMS providers that name none (docs/api.md "Channels and providers").
 */
const AWS_SDK_VARIABLES = new Set([
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_SESV2',
  'AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2',
]);

/** What a container runs: its `command`, else its stage's CMD; compose splits a string command on blanks. */
function effectiveCommand(service: ComposeService): string[] {
  if (Array.isArray(service.command)) return service.command;
  if (typeof service.command === 'string') return service.command.trim().split(/\s+/);
  return inherited(targetStage(service), 'cmd') ?? [];
}

function environmentOf(service: ComposeService): Record<string, string> {
  const entries = Array.isArray(service.environment)
    ? service.environment.map((line) => line.split(/=(.*)/s).slice(0, 2))
    : Object.entries(service.environment ?? {});
  return Object.fromEntries(entries.map(([name, value]) => [name, String(value)]));
}

/** The compiled entry points: `dist/<x>.js` for every root file `<x>.ts` of tsconfig.build.json. */
function builtEntryPoints(): Set<string> {
  const file = path.join(ROOT, 'tsconfig.build.json');
  const { config, error } = ts.readConfigFile(file, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, file);
  const outDir = path.relative(ROOT, parsed.options.outDir ?? '');
  return new Set(
    parsed.fileNames.map((source) => path.join(outDir, path.relative(ROOT, source)).replace(/\.ts$/, '.js')),
  );
}
const builtFiles = builtEntryPoints();

/**
 * What is wrong with a command of the production image: it must be `node [flags] dist/<x>.js` of a compiled entry
 * point, or an npm script that is one. tsx and the sources are not in that image.
 */
function productionCommandProblem(command: string[]): string | undefined {
  // An npm script may set variables first (`WORKFLOW_BUNDLE_PATH=… node …`): each must be one of the schema's.
  const assignments = command.slice(
    0,
    command.findIndex((word) => !/^[A-Z_]+=/.test(word)),
  );
  const unknown = assignments.map((word) => word.split('=')[0]).find((name) => !(name in envSchema.shape));
  if (unknown) return `sets ${unknown}, not a variable of the configuration schema`;
  const [program, ...args] = command.slice(assignments.length);
  if (program === 'npm') {
    const script = args[0] === 'run' ? args[1] : args[0];
    const body = packageJson.scripts[script];
    if (body === undefined) return `npm script ${script} is not in package.json`;
    return productionCommandProblem(body.split(/\s+/));
  }
  if (program !== 'node') return `runs ${program}, not node or npm`;
  const entry = args.find((arg) => !arg.startsWith('-'));
  if (args.some((arg) => /\btsx\b/.test(arg))) return 'loads tsx, a devDependency';
  if (!entry || !builtFiles.has(entry)) return `${entry} is not built by tsconfig.build.json`;
  if (entry === path.join('dist', 'worker', 'main.js') && !command.join(' ').includes(WORKER_NODE_OPTIONS))
    return `the worker runs without ${WORKER_NODE_OPTIONS} (scripts/local-stack.ts)`;
  return undefined;
}

describe('docker-compose.yml', () => {
  it('runs the API, the worker and the seed job on the production image', () => {
    const commands = serviceContainers.map(([, service]) => effectiveCommand(service).join(' '));
    expect(commands).toEqual(
      expect.arrayContaining([
        `node ${WORKER_NODE_OPTIONS} dist/worker/main.js`,
        'node dist/api/server.js',
        'node dist/scripts/seed.js',
      ]),
    );
  });

  it('sets only variables of the configuration schema or the AWS SDK, with values they accept, on the service containers', () => {
    const known = new Set(Object.keys(envSchema.shape));
    const problems = serviceContainers.flatMap(([name, service]) => {
      const environment = environmentOf(service);
      const unknown = Object.keys(environment).filter((key) => !known.has(key) && !AWS_SDK_VARIABLES.has(key));
      for (const variable of AWS_SDK_VARIABLES) {
        if (environment[variable] !== undefined && !URL.canParse(environment[variable]))
          unknown.push(`${variable} is not a URL`);
      }
      try {
        parseEnvironment(environment);
      } catch (error) {
        unknown.push((error as Error).message);
      }
      return unknown.map((problem) => `${name}: ${problem}`);
    });
    expect(problems).toEqual([]);
  });

  it('gives the API and the worker the same secrets and public URL, after the profile fills them in', () => {
    const shared = ['PUBLIC_BASE_URL', 'WEBHOOK_SECRET', 'PROVIDER_CREDENTIALS_KEYS', 'TEMPORAL_CODEC_KEYS'] as const;
    const [api, worker] = [containerRunning('dist/api/server.js'), containerRunning('dist/worker/main.js')].map(
      ([, service]) => parseEnvironment(environmentOf(service)),
    );
    // The worker signs and hands out what the API verifies: webhook tokens, callback signatures, the URLs they carry.
    for (const variable of shared) expect([variable, worker[variable]]).toEqual([variable, api[variable]]);
    expect(api.PUBLIC_BASE_URL).toBeDefined();
  });

  it("lets providers' delivery reports reach the API, and registered AWS providers reach the simulator", () => {
    const [apiName, api] = containerRunning('dist/api/server.js');
    const [, worker] = containerRunning('dist/worker/main.js');
    const [simulatorName, simulator] = services.find(([, service]) => targetStage(service)?.name === 'simulator')!;
    const publicUrl = new URL(parseEnvironment(environmentOf(api)).PUBLIC_BASE_URL!);
    expect([publicUrl.hostname, Number(publicUrl.port)]).toEqual([
      apiName,
      parseEnvironment(environmentOf(api)).HTTP_PORT,
    ]);
    const reportHosts = (environmentOf(simulator).SIMULATOR_REPORT_HOSTS ?? '').split(',').map((host) => host.trim());
    expect(reportHosts).toContain(publicUrl.hostname);
    const awsEndpoint = new URL(environmentOf(worker).AWS_ENDPOINT_URL ?? 'http://unset');
    expect(awsEndpoint.hostname).toBe(simulatorName);
    expect(simulator.ports ?? []).toContainEqual(expect.stringMatching(new RegExp(`:${awsEndpoint.port}$`)));
  });

  it('sets on the simulator only the variables it reads', () => {
    const main = read('simulator/main.ts');
    const simulators = services.filter(([, service]) => targetStage(service)?.name === 'simulator');
    expect(simulators.length).toBeGreaterThan(0);
    const unread = simulators.flatMap(([, service]) =>
      Object.keys(environmentOf(service)).filter((name) => !new RegExp(`\\b${name}\\b`).test(main)),
    );
    expect(unread).toEqual([]);
  });

  it('runs built files and package.json scripts only', () => {
    const problems = serviceContainers.flatMap(([name, service]) => {
      const problem = productionCommandProblem(effectiveCommand(service));
      return problem ? [`${name}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it('pins every image to a version, and builds the others from the Dockerfile', () => {
    const problems = services.flatMap(([name, service]) => {
      if (service.build) return targetStage(service) ? [] : [`${name}: no such Dockerfile stage`];
      return /^[\w./-]+:v?\d+\.\d+\.\d+$/.test(service.image ?? '') ? [] : [`${name}: image ${service.image}`];
    });
    expect(problems).toEqual([]);
  });

  it('waits for what exists: healthchecks for service_healthy, one-shot jobs for service_completed_successfully', () => {
    const problems = services.flatMap(([name, service]) => {
      const dependsOn: Record<string, { condition?: string }> = Array.isArray(service.depends_on)
        ? Object.fromEntries(service.depends_on.map((dependency) => [dependency, {}]))
        : (service.depends_on ?? {});
      return Object.entries(dependsOn).flatMap(([dependency, { condition }]) => {
        const target = compose.services[dependency];
        if (!target) return [`${name} depends on ${dependency}, which is not a service`];
        if (condition === 'service_healthy' && !target.healthcheck) return [`${dependency} has no healthcheck`];
        if (condition === 'service_completed_successfully' && target.restart && target.restart !== 'no')
          return [`${dependency} restarts, so it never completes`];
        return [];
      });
    });
    expect(problems).toEqual([]);
  });

  it('declares the named volumes it mounts', () => {
    const mounted = services.flatMap(([, service]) =>
      (service.volumes ?? []).map((volume) => volume.split(':')[0]).filter((source) => !/^[./~]/.test(source)),
    );
    expect(mounted.filter((volume) => !(volume in (compose.volumes ?? {})))).toEqual([]);
  });
});

describe('Dockerfile', () => {
  it('builds on a pinned Node release that is still supported (22 or later)', () => {
    const bases = stages.filter((stage) => !stageNamed(stage.from)).map((stage) => stage.from);
    expect(bases.length).toBeGreaterThan(0);
    const unsupported = bases.filter((from) => Number(/^node:(\d+)\.\d+\.\d+-[\w.-]+$/.exec(from)?.[1]) < 22);
    expect(unsupported).toEqual([]);
  });

  it('ends with a runtime stage of production dependencies and the build, as a non-root user', () => {
    expect(runtimeStage.runs.join('\n')).toMatch(/npm ci --omit=dev/);
    expect(productionCommandProblem(runtimeStage.cmd ?? [])).toBeUndefined();
    const asRoot = stages
      .filter((stage) => inherited(stage, 'cmd') && ['root', '0', undefined].includes(inherited(stage, 'user')))
      .map((stage) => stage.name);
    expect(asRoot).toEqual([]);
  });

  it('runs the simulator from a stage that has its devDependencies and sources', () => {
    const simulator = stageNamed('simulator');
    const command = inherited(simulator, 'cmd') ?? [];
    expect(simulator?.from).toBe('build');
    expect(existsSync(path.join(ROOT, command.at(-1) ?? ''))).toBe(true);
  });
});

describe('package.json production scripts', () => {
  it.each(['start', 'start:worker:prod'])('%s runs a built file', (script) => {
    expect(productionCommandProblem(['npm', 'run', script])).toBeUndefined();
  });
});
