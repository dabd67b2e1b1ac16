import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  for (const server of globalThis.__MESSAGING_TEST_SERVERS__ ?? []) await server.stop();
  if (process.env.TEST_WORK_DIR) rmSync(process.env.TEST_WORK_DIR, { recursive: true, force: true });
}
