import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    // Workflow code is replayed: no Node APIs and no I/O may reach it (STYLE.md §3).
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
                '../common/db',
                '../common/*-repository',
              ],
              message: 'I/O belongs in activities',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
