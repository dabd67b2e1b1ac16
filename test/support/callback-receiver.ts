import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from './http-sends';

export interface ReceivedCallback {
  body: Record<string, unknown>;
  verified: boolean;
}

export interface CallbackReceiver {
  url: string;
  received: ReceivedCallback[];
  /** Every POST, the refused ones included. */
  calls(): number;
  close(): Promise<void>;
}

/**
 * A callback receiver of `POST /messages` as docs/os1-messaging.md tells users to write one: it verifies each signature
 * (`X-Signature: sha256=<hex of HMAC-SHA256(secret, X-Timestamp + "." + raw body)>`) and answers 2xx, or 500 for the
 * first `failFirst` calls (which the service must retry).
 */
export async function startCallbackReceiver(secretOf: () => string, failFirst = 0): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  let calls = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      calls++;
      if (calls <= failFirst) {
        response.writeHead(500).end();
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(request.headers['x-timestamp']);
      const expected = `sha256=${createHmac('sha256', secretOf()).update(`${timestamp}.${raw}`).digest('hex')}`;
      const presented = Buffer.from(String(request.headers['x-signature']));
      const verified = presented.length === expected.length && timingSafeEqual(presented, Buffer.from(expected));
      received.push({ body: JSON.parse(raw), verified });
      response.writeHead(verified ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks`,
    received,
    calls: () => calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `read()` again every 200 ms until `done` holds of its value or `timeoutMs` passes; the last value either way. */
export async function eventually<T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(200);
  }
}
