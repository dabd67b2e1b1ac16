import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Fastify from 'fastify';
import { round } from './proc-stats';
import { REPO_ROOT } from './stack';
import { CHANNELS, EMPTY_CLUSTER } from './workload';

export interface LoadFigures {
  p50Ms: number;
  p99Ms: number;
  requestsPerSecond: number;
  non2xx: number;
  errors: number;
}

interface AutocannonJson {
  latency: { p50: number; p99: number };
  requests: { average: number };
  non2xx: number;
  errors: number;
}

/**
 * autocannon runs in its own process so the load generator does not share an event loop with the server it
 * measures (the API and the bare route both live in the bench process).
 */
export async function autocannon(
  url: string,
  body: string,
  options: { connections: number; seconds: number },
): Promise<LoadFigures> {
  const bin = path.join(REPO_ROOT, 'node_modules', 'autocannon', 'autocannon.js');
  const args = [
    bin,
    '--json',
    '-c',
    String(options.connections),
    '-d',
    String(options.seconds),
    '-m',
    'POST',
    '-H',
    'content-type=application/json',
    '-H',
    'prefer=respond-async',
    '-b',
    body,
    url,
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.resume();
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`autocannon exited with ${code}`);
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as AutocannonJson;
  return {
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requestsPerSecond: round(result.requests.average, 1),
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** The body of every API-latency send: a real send, but to a cluster without users, so load stays bounded. */
export const LATENCY_BODY = JSON.stringify({
  channels: CHANNELS,
  clusters: [EMPTY_CLUSTER],
  messageTitle: 'Hello {{user.firstName}}',
  messageContent: 'Hi {{user.firstName}}',
});

/**
 * The floor the API is compared with: a bare Fastify route in the same process that parses the same JSON body
 * and answers the same 202 shape, with no validation, MongoDB or Temporal.
 */
export async function startBareRoute(): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  app.post('/send', async (_request, reply) => {
    const sendId = `send-${randomUUID()}`;
    return reply.code(202).send({ sendId, workflowId: sendId, status: 'running', statusUrl: `/sends/${sendId}` });
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: `${url}/send`, close: () => app.close() };
}
