import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The driver is imported in common/store only: elsewhere a query would bypass the collection's one repository. */
const MONGODB_ONLY_IN_STORE = {
  name: 'mongodb',
  message: 'MongoDB is reached through the repositories of common/store only (one per collection); add the query there',
};

/** The rooms of common/, from the ground floor up (each opens with a comment of what it holds). */
const COMMON_ROOMS = ['toolkit', 'crypto', 'config', 'temporal', 'domain', 'http', 'store', 'rendering'];

/** The collections of `Database` (common/store/db.ts), and its connection, which only common/store reads. */
const DATABASE_MEMBERS = [
  'client',
  'db',
  'users',
  'templates',
  'sends',
  'deliveries',
  'audiencePages',
  'dispatchClaims',
  'batchCounts',
  'rateTokens',
  'providers',
  'tenantDefaults',
  'notifications',
  'messageRequests',
  'callbackEvents',
  'providerMessages',
  'conversations',
  'conversationEvents',
  'conversationLocks',
  'inboundMessages',
  'sagaFailEvents',
  'erasures',
];

/**
 * Where the store may be reached directly: common/store itself, and the tools and tests around the service (which
 * seed, inspect and break the store on purpose). The composition roots may hold the `Database` to build repositories.
 */
const STORE_OUTSIDERS = ['scripts/**', 'test/**', 'bench/**'];
const COMPOSITION_ROOTS = ['api/app.ts', 'api/plugins/database-plugin.ts', 'activities/activity-deps.ts'];

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', 'coverage/', 'dist/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Workflow code is replayed: no Node APIs and no I/O may reach it (docs/style.md "Workflows").
    files: ['workflows/**/*.ts'],
    rules: {
      // Types may come from anywhere (activities are imported as types only); values may not.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'http', 'https', 'net', 'crypto', 'child_process', 'path', 'os'],
              message: 'workflows must stay deterministic',
              allowTypeImports: true,
            },
            {
              group: [
                'mongodb',
                'undici',
                'nodemailer',
                '../activities',
                '../activities/*',
                '../providers',
                '../providers/*',
                '../common/store',
                '../common/store/*',
                '../common/http',
                '../common/http/*',
              ],
              message: 'I/O belongs in activities',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // Signals, queries and updates go through their definitions (defineSignal, defineQuery, defineUpdate), which
    // carry their argument and answer types; a name spelled at a call site is checked by nothing.
    files: ['api/**/*.ts', 'activities/**/*.ts', 'worker/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    ignores: ['test/simulator/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.property.name=/^(signal|query|executeUpdate|startUpdate)$/][arguments.0.type=/^(Literal|TemplateLiteral)$/]',
          message: 'send a signal, query or update through its definition, not by name',
        },
      ],
    },
  },
  // Imports run one way (docs/architecture.md "The parts"): api/ and worker/ on top, workflows/ and activities/ below
  // them, providers/ below those, common/ at the ground floor, the simulator on its own (a real provider can replace
  // it).
  ...[
    {
      files: ['api/**/*.ts'],
      forbidden: ['activities', 'worker'],
      why: 'the API starts workflows, never runs activities',
    },
    {
      files: ['activities/**/*.ts'],
      forbidden: ['workflows', 'api', 'worker'],
      why: 'activities never import workflows',
    },
    {
      files: ['providers/**/*.ts'],
      forbidden: ['api', 'activities', 'workflows', 'worker', 'scripts', 'simulator'],
      why: 'providers/ stands on common/ only: the API, the worker and the activities derive from its registry',
    },
    {
      files: ['common/**/*.ts'],
      forbidden: ['api', 'activities', 'workflows', 'worker', 'scripts', 'simulator', 'providers'],
      why: 'common/ is the ground floor: it imports none of the others',
    },
    {
      files: ['simulator/**/*.ts'],
      forbidden: ['api', 'activities', 'workflows', 'worker', 'scripts', 'common', 'providers'],
      why: 'the simulator stands in for real providers and imports nothing of ours',
    },
  ].map(({ files, forbidden, why }) => ({
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: forbidden.flatMap((room) => [`**/${room}`, `**/${room}/**`]), message: why }] },
      ],
    },
  })),
  // Inside common/ the rooms are floors too, listed from the ground up: a room imports its own files and the rooms
  // below it, never one above (docs/architecture.md, "common/").
  ...COMMON_ROOMS.map((room, floor) => ({
    files: [`common/${room}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                ...['api', 'activities', 'workflows', 'worker', 'scripts', 'simulator', 'providers'].flatMap((top) => [
                  `**/${top}`,
                  `**/${top}/**`,
                ]),
                // From the room or a folder inside it.
                ...COMMON_ROOMS.slice(floor + 1).flatMap((above) =>
                  [`../${above}`, `../../${above}`].flatMap((path) => [path, `${path}/*`]),
                ),
              ],
              message: `common/${room} stands on ${COMMON_ROOMS.slice(0, floor).join(', ') || 'nothing of ours'}: it imports no room above it`,
            },
          ],
        },
      ],
    },
  })),

  // One door to the store: MongoDB is read and written by the repositories of common/store alone, so that every query
  // stays where one can check it against both MongoDB and FerretDB, and a collection's documents have one owner.
  // Outside it, no import of the driver (its types included: a `Filter` or a `Document` in a service is a query
  // being written there), and no `Database` but where the repositories are built.
  {
    files: ['**/*.ts'],
    ignores: ['common/store/**', ...STORE_OUTSIDERS],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [MONGODB_ONLY_IN_STORE],
        },
      ],
      'no-restricted-syntax': [
        'error',
        ...[`MemberExpression[object.name='database']`, `MemberExpression[object.property.name='database']`].map(
          (object) => ({
            selector: `${object}[property.name=/^(${DATABASE_MEMBERS.join('|')})$/]`,
            message:
              'a collection is read and written by its repository in common/store (`<collection>-repository.ts`), not through `database`',
          }),
        ),
      ],
    },
  },
  {
    files: ['**/*.ts'],
    ignores: ['common/store/**', ...STORE_OUTSIDERS, ...COMPOSITION_ROOTS],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [MONGODB_ONLY_IN_STORE],
          patterns: [
            {
              group: ['**/store/db'],
              importNames: ['Database'],
              message:
                'the Database is opened where the repositories are built (api/plugins/database-plugin.ts, activities/activity-deps.ts); take the repositories instead',
            },
          ],
        },
      ],
    },
  },
);
