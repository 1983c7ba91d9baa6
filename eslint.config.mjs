// Lint with layer boundaries: the engine stays pure Node, the renderer talks only through the contract's types.
// TypeScript is linted with type information (floating and misused promises lose errors silently); the renderer
// with the React hooks rules; the plain .mjs/.cjs scripts with the recommended rules.
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'models/**', '.tmp/**', 'test-results/**', 'out/**', 'examples/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Type-aware rules: a promise nobody awaits or catches fails silently, and one passed where a void callback is
    // expected (an event handler) rejects unseen. Fire-and-forget is written `void promise` with a comment.
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // CommonJS entry points load bundles with require by design.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['renderer/**/*.tsx', 'renderer/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
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
