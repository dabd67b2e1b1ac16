import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  SEARCH_ATTRIBUTES,
  searchAttributeCreateCommand,
  searchAttributeDefinitions,
  searchAttributeFlags,
} from '../../common/temporal/search-attributes';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Every TypeScript source of the service (tests, the simulator and the bench aside). */
function serviceSources(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(path.join(ROOT, dir))) {
      const relative = path.join(dir, name);
      if (statSync(path.join(ROOT, relative)).isDirectory()) walk(relative);
      else if (name.endsWith('.ts')) files.push(relative);
    }
  };
  for (const dir of ['api', 'activities', 'common', 'scripts', 'worker', 'workflows']) walk(dir);
  return files;
}

/** The search attributes are declared once (common/temporal/search-attributes.ts) and everything else follows them. */
describe('search attributes', () => {
  it('are registered by the dev-server flags with the CLI type names', () => {
    expect(searchAttributeFlags()).toEqual([
      '--search-attribute',
      'channels=KeywordList',
      '--search-attribute',
      'templateId=Keyword',
      '--search-attribute',
      'sagaId=Keyword',
      '--search-attribute',
      'recipientCount=Int',
      '--search-attribute',
      'sendStatus=Keyword',
      '--search-attribute',
      'conversationStatus=Keyword',
      '--search-attribute',
      'customerHash=Keyword',
      '--search-attribute',
      'scheduledFor=Datetime',
    ]);
  });

  it('are the ones docs/configuration.md tells an operator to register', () => {
    expect(read('docs/configuration.md')).toContain(searchAttributeCreateCommand());
  });

  it('are the ones docker-compose.yml registers', () => {
    const compose = read('docker-compose.yml');
    const registered = [...compose.matchAll(/--name (\w+) --type (\w+)/g)].map(([, name, type]) => ({ name, type }));
    expect(registered).toEqual(searchAttributeDefinitions());
  });

  it('are defined nowhere else, and set only through their typed keys', () => {
    const offenders = serviceSources().flatMap((file) => {
      const source = read(file);
      const problems: string[] = [];
      if (
        file !== path.join('common', 'temporal', 'search-attributes.ts') &&
        source.includes('defineSearchAttributeKey(')
      ) {
        problems.push(`${file}: defines a search attribute key outside common/temporal/search-attributes.ts`);
      }
      // The untyped record forms are deprecated in the SDK and bypass the declared keys.
      if (/upsertSearchAttributes\(\s*\{/.test(source)) problems.push(`${file}: untyped upsertSearchAttributes({...})`);
      if (/\bsearchAttributes:\s*\{/.test(source)) problems.push(`${file}: untyped searchAttributes: {...} at start`);
      return problems;
    });
    expect(offenders).toEqual([]);
  });

  it('have the names docs/operating-sends.md documents', () => {
    const operatingSends = read('docs/operating-sends.md');
    for (const key of Object.values(SEARCH_ATTRIBUTES)) expect(operatingSends).toContain(`| \`${key.name}\``);
  });
});
