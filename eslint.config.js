// Lint: the recommended JS and typescript-eslint rules, plus the few that catch real bugs
// in an async network agent (floating promises are the classic one).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'deploy/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The agent's isolates take node:http through src/node-http.ts: importing it loads Node's
    // bundled undici into the isolate (13 MiB of RSS). Type imports cost nothing.
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [{ name: 'node:http', message: 'use { http } from src/node-http.ts (an import loads Node\'s bundled undici)', allowTypeImports: true }, { name: 'http', message: 'use { http } from src/node-http.ts', allowTypeImports: true }] }],
    },
  },
  {
    files: ['bin/**/*.js', '*.js'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
);
