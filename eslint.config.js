// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      // On Node 20, AsyncLocalStorage's first use turns on the promise hooks of the whole process for
      // good: a cost on every promise of every exchange (it crept in once, for a migration's scope).
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:async_hooks',
              importNames: ['AsyncLocalStorage', 'createHook'],
              message: 'Promise hooks cost every promise of the process: pass what the scope would carry.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**', 'bench/**', 'test/**', '**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['eslint.config.js', 'vitest.config.ts'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The pages' browser scripts (plain ES modules, not part of the TypeScript project).
    files: ['src/**/assets/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'module',
      parserOptions: { projectService: false, project: null },
      globals: {
        document: 'readonly',
        HTMLFormElement: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        // The clerk console's script (src/nodes/institution/console/assets/).
        window: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        CSS: 'readonly',
        HTMLElement: 'readonly',
        HTMLInputElement: 'readonly',
        HTMLTextAreaElement: 'readonly',
        HTMLProgressElement: 'readonly',
        DOMParser: 'readonly',
      },
    },
  },
);
