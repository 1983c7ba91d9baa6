// Lint with layer boundaries: the engine stays pure Node, the renderer talks only through the contract's types.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'models/**', '**/*.cjs', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['main/engine/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'main/engine is pure Node: it runs in tests, the CLI and the engine host.' }],
          patterns: [{ group: ['electron/*', '**/renderer/**', '../ipc/*', '../../ipc/*', '../services/*', '../../services/*'], message: 'main/engine may not depend on the Electron shell or the renderer.' }],
        },
      ],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'The renderer talks only through window.delineate.' },
          ],
          patterns: [
            { group: ['**/preload/*', '**/preload'], allowTypeImports: true, message: 'The renderer may import only types from the preload contract.' },
            { group: ['**/main/**', 'node:*', 'fs', 'path', 'child_process'], message: 'The renderer never reaches main or Node.' },
          ],
        },
      ],
    },
  },
);
