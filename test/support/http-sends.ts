import { ObjectId } from 'mongodb';
import { request } from 'undici';
import type { SimMessage } from './fixtures';
import type { TestStack } from './test-stack';

/** Helpers of the tests that drive the service over real HTTP (spawned API processes), as a client would. */

export interface HttpAnswer<T> {
  status: number;
  body: T;
}

export async function http<T = Record<string, unknown>>(
  base: string,
  method: 'GET' | 'POST',
  url: string,
  json?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer<T>> {
  const response = await request(`${base}${url}`, {
    method,
    headers: json === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
}

export interface SendView {
  sendId: string;
  status: 'running' | 'completed' | 'failed';
  counts: Record<string, Partial<Record<'pending' | 'sent' | 'failed' | 'skipped', number>>>;
  progress: unknown;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Users with addresses unique within the test (fixtures' `person` draws phone numbers at random, and a few
 * hundred of them collide), so the simulator's messages count per user.
 */
export async function insertAudience(stack: TestStack, prefix: string, size: number, cluster: string) {
  const users = Array.from({ length: size }, (_, index) => ({
    _id: new ObjectId(),
    name: `${prefix}${index}`,
    emailAddress: `${prefix}${index}@example.com`,
    phoneNumber: `+3934${String(index).padStart(8, '0')}`,
    deviceToken: `token-${prefix}-${index}`,
    clusters: [cluster],
  }));
  for (let start = 0; start < users.length; start += 1000) {
    await stack.database.users.insertMany(users.slice(start, start + 1000));
  }
  return users.map((user) => ({ ...user, id: user._id.toHexString() }));
}

/** Messages per recipient address on one channel of the simulator. */
export function perAddress(messages: SimMessage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of messages) counts.set(message.to, (counts.get(message.to) ?? 0) + 1);
  return counts;
}

export const extraMessages = (counts: Map<string, number>) =>
  [...counts.values()].reduce((sum, count) => sum + Math.max(0, count - 1), 0);

export async function simCount(stack: TestStack, channel: string): Promise<number> {
  return (await stack.sim<{ count: number }>('GET', `/messages/count?channel=${channel}`)).count;
}

/**
 * Polls `GET /sends/:id` until the send is no longer running; an unreachable API (being restarted) or
 * database (being restarted behind it) only delays it. The last answer is in the error on timeout.
 */
export async function waitForSend(base: () => string, sendId: string, timeoutMs: number): Promise<SendView> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const answer = await http<SendView>(base(), 'GET', `/sends/${sendId}`);
      last = answer.body;
      if (answer.status === 200 && answer.body.status !== 'running') return answer.body;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`send ${sendId} still not finished after ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await sleep(250);
  }
}
