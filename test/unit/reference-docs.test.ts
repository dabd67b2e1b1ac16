import { readFileSync } from 'node:fs';
import path from 'node:path';
import { envSchema, serviceConfigSchema } from '../../providers/service-configuration';

// docs/configuration.md is what operators read, and docs/internals.md and docs/operating-sends.md quote the fan-out's
// figures; the code (common/config/env-schema.ts, service-config-schema.ts, config/default.json) is the truth. These
// tests fail when one changes without the other, naming what differs.
const root = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
/** Prose as one line: where a sentence wraps is prettier's business, not the test's. */
const joined = (text: string) => text.replace(/\s+/g, ' ');

const configuration = read('docs/configuration.md');
const fanOutProse = joined(read('docs/internals.md') + '\n' + read('docs/operating-sends.md'));

/** The JSON code block whose object starts with `"activeChannels"`. */
function configurationBlock(): unknown {
  const blocks = [...configuration.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => match[1]);
  const block = blocks.find((text) => /^\{\s*"activeChannels"/.test(text));
  if (!block) throw new Error('docs/configuration.md has no ```json block starting with "activeChannels"');
  return JSON.parse(block);
}

/** Backticked names in the first column of the table whose header starts with `| variable`. */
function tableVariables(): string[] {
  const lines = configuration.split('\n');
  const header = lines.findIndex((line) => /^\|\s*variable\s*\|/.test(line));
  if (header < 0) throw new Error('docs/configuration.md has no table with a "variable" column');
  const names: string[] = [];
  // Skip the header and its |---| line; the table ends at the first line that is not a row.
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const firstCell = line.split('|')[1];
    names.push(...[...firstCell.matchAll(/`([^`]+)`/g)].map((match) => match[1]));
  }
  return names;
}

describe('the reference in docs/ stays true to the code', () => {
  it('shows config/default.json as the JSON configuration, key for key', () => {
    const shipped = JSON.parse(read('config/default.json'));
    expect(configurationBlock()).toEqual(shipped);
  });

  it('lists every environment variable of envSchema, and only those', () => {
    const documented = tableVariables();
    const variables = Object.keys(envSchema.shape);
    expect(documented.length).toBeGreaterThan(0);
    expect({
      'in envSchema, missing from the docs table': variables.filter((name) => !documented.includes(name)),
      'in the docs table, not in envSchema': documented.filter((name) => !variables.includes(name)),
    }).toEqual({ 'in envSchema, missing from the docs table': [], 'in the docs table, not in envSchema': [] });
  });

  it('gives the defaults of fanOut and worker as the configuration schema has them', () => {
    const defaults = serviceConfigSchema.parse({ activeChannels: ['sms'] });
    const rows = [...configuration.matchAll(/^\| `((?:fanOut|worker)\.\w+)`\s*\|[^|]*\| `(\d+)`\s*\|$/gm)];
    const documented = Object.fromEntries(rows.map(([, key, value]) => [key, Number(value)]));
    const actual = Object.fromEntries(
      (['fanOut', 'worker'] as const).flatMap((group) =>
        Object.entries(defaults[group]).map(([key, value]) => [`${group}.${key}`, value]),
      ),
    );
    expect(documented).toEqual(actual);
  });

  it('quotes the default rate limit of the sending routes', () => {
    const { rateLimit } = serviceConfigSchema.parse({ activeChannels: ['sms'] }).api;
    expect(configuration).toContain(
      `(\`{ "max": ${rateLimit.max}, "timeWindowMs": ${rateLimit.timeWindowMs} }\` unless set)`,
    );
  });

  it('quotes the fan-out figures of the code in its prose', () => {
    const { fanOut } = serviceConfigSchema.parse({ activeChannels: ['sms'] });
    expect(fanOutProse).toContain(`pages of ${fanOut.pageSize} ids, batches of ${fanOut.chunkSize} users per dispatch`);
    expect(fanOutProse).toContain(`at most ${fanOut.perDeliveryLimit} users (per ${fanOut.chunkSize} users otherwise)`);
    expect(fanOutProse).toContain(`\`continueAsNew\` every ${fanOut.pagesPerRun} pages`);
    expect(fanOutProse).toContain(`Sends of ≤ ${fanOut.perDeliveryLimit} users get one activity per (user, channel)`);
  });
});
