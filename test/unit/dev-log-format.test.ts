import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { readableLogLines } from '../../scripts/dev-log-format';

/** `npm run dev` prints the worker's and the API's JSON log lines readably; the processes keep writing JSON. */
describe("npm run dev's log lines", () => {
  async function printed(lines: string[]): Promise<string> {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk) => (text += chunk));
    const input = readableLogLines(out);
    for (const line of lines) input.write(`${line}\n`);
    input.end();
    await finished(out).catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    return text;
  }

  it('prints a JSON line as time, level, name and message, the fields after it on the same line', async () => {
    const line = JSON.stringify({
      level: 30,
      time: Date.UTC(2026, 0, 1, 12, 0, 1),
      pid: 4242,
      hostname: 'box',
      name: 'worker',
      taskQueue: 'messaging',
      msg: 'worker started',
    });
    const text = await printed([line, 'not json at all']);
    const [first, second] = text.trim().split('\n');
    expect(first).toMatch(/^\[\d\d:\d\d:01\.000\] INFO \(worker\): worker started \{"taskQueue":"messaging"\}$/);
    expect(second).toBe('not json at all');
    expect(text).not.toContain('4242');
  });
});
