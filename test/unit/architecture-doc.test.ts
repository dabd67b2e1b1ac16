import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../../common/temporal/search-attributes';

/**
 * docs/architecture.md is the map a newcomer reads first: it must name the file that owns every workflow, route and
 * collection, and every search attribute. These tests fail when a file or a name is added without its line there,
 * and when a link of the README to docs/ leads nowhere.
 */
const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const architecture = read('docs/architecture.md');

/** The `.ts` files of a folder of the repository, as paths from its root (`workflows/send-message.ts`). */
function sources(dir: string, options: { recursive?: boolean } = {}): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const relative = `${dir}/${name}`;
    if (statSync(path.join(ROOT, relative)).isDirectory()) return options.recursive ? sources(relative, options) : [];
    return name.endsWith('.ts') ? [relative] : [];
  });
}

/** The names the store gives its collections: `collection('name')` or `collection<Type>('name')` in common/store/. */
function collectionNames(): string[] {
  const names = sources('common/store', { recursive: true }).flatMap((file) =>
    [...read(file).matchAll(/\.collection(?:<[^>]*>)?\(\s*'([a-z_]+)'/g)].map((match) => match[1]),
  );
  // users and templates are named by USERS_CRUD_NAME and TEMPLATES_CRUD_NAME; the docs name their defaults.
  return [...new Set([...names, 'users', 'templates'])].sort();
}

/** The names of `expected` that docs/architecture.md does not show in backticks. */
const missing = (expected: string[]) => expected.filter((name) => !architecture.includes(`\`${name}\``));

describe('docs/architecture.md names the owner of everything', () => {
  it('lists every file of workflows/', () => {
    const files = sources('workflows');
    expect(files).toContain('workflows/send-message.ts');
    expect(missing(files)).toEqual([]);
  });

  it('lists every route file of api/routes/, the webhooks included', () => {
    const files = sources('api/routes', { recursive: true });
    expect(files).toContain('api/routes/send-routes.ts');
    expect(files.some((file) => file.startsWith('api/routes/webhooks/'))).toBe(true);
    expect(missing(files)).toEqual([]);
  });

  it('lists every collection the store opens', () => {
    const names = collectionNames();
    expect(names).toEqual(expect.arrayContaining(['deliveries', 'sends', 'inbound_messages']));
    expect(missing(names)).toEqual([]);
  });

  it('lists every search attribute', () => {
    const names = Object.values(SEARCH_ATTRIBUTES).map((key) => key.name);
    expect(names.length).toBeGreaterThan(0);
    expect(missing(names)).toEqual([]);
  });
});

describe('README.md leads to docs/', () => {
  it('links only to docs pages that exist, and to architecture.md', () => {
    const links = [...read('README.md').matchAll(/\]\((docs\/[^)#\s]+\.md)(?:#[^)]*)?\)/g)].map((match) => match[1]);
    expect(links).toContain('docs/architecture.md');
    expect(links.filter((link) => !existsSync(path.join(ROOT, link)))).toEqual([]);
  });

  it('links every page of docs/', () => {
    const linked = new Set([...read('README.md').matchAll(/\]\((docs\/[^)#\s]+\.md)/g)].map((match) => match[1]));
    const pages = readdirSync(path.join(ROOT, 'docs')).filter((name) => name.endsWith('.md'));
    expect(pages.filter((page) => !linked.has(`docs/${page}`))).toEqual([]);
  });
});
