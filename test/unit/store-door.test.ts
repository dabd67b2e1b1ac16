import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * One door to the store (eslint.config.mjs): outside common/store nothing imports the driver or reads a collection
 * off the `Database`, and the `Database` itself is held only where the repositories are built. Each probe is linted
 * as if it were the named file, all in one ESLint run (its start costs seconds).
 */
const root = path.join(__dirname, '..', '..');

const LINT_PROBES = `
const { ESLint } = require('eslint');
const probes = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
(async () => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const rules = [];
  for (const { filePath, source } of probes) {
    const [report] = await eslint.lintText(source, { filePath });
    rules.push(report.messages.map(({ ruleId }) => String(ruleId)));
  }
  process.stdout.write(JSON.stringify(rules));
})();
`;

const DRIVER_IMPORT = `import { ObjectId } from 'mongodb';\nexport const id = new ObjectId();\n`;
const DRIVER_TYPE_IMPORT = `import type { Filter } from 'mongodb';\nexport type F = Filter<object>;\n`;
const DATABASE_IMPORT = `import type { Database } from '../../common/store/db';\nexport type Held = Database;\n`;
const COLLECTION_READ = `declare const app: { database: { conversations: { findOne(): void } } };\napp.database.conversations.findOne();\n`;

const PROBES = [
  { filePath: 'api/services/probe-service.ts', source: DRIVER_IMPORT, refusedBy: 'no-restricted-imports' },
  { filePath: 'activities/probe.ts', source: DRIVER_TYPE_IMPORT, refusedBy: 'no-restricted-imports' },
  { filePath: 'common/store/probe-repository.ts', source: DRIVER_IMPORT, refusedBy: null },
  { filePath: 'api/routes/probe-routes.ts', source: COLLECTION_READ, refusedBy: 'no-restricted-syntax' },
  { filePath: 'api/plugins/database-plugin.ts', source: COLLECTION_READ, refusedBy: 'no-restricted-syntax' },
  { filePath: 'common/store/probe-repository.ts', source: COLLECTION_READ, refusedBy: null },
  { filePath: 'api/services/probe-service.ts', source: DATABASE_IMPORT, refusedBy: 'no-restricted-imports' },
  { filePath: 'api/plugins/database-plugin.ts', source: DATABASE_IMPORT, refusedBy: null },
];

describe('the store has one door', () => {
  it('refuses the driver (types included), a collection read off the database and the Database outside its places', () => {
    const result = spawnSync(process.execPath, ['-e', LINT_PROBES], {
      cwd: root,
      input: JSON.stringify(PROBES),
      encoding: 'utf8',
    });
    const rules = JSON.parse(result.stdout) as string[][];
    const outcomes = PROBES.map(({ filePath, source }, index) => ({ filePath, source, rules: rules[index] }));
    expect(outcomes).toEqual(
      PROBES.map(({ filePath, source, refusedBy }) => ({ filePath, source, rules: refusedBy ? [refusedBy] : [] })),
    );
  });
});
