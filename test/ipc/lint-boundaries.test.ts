// The layer boundaries are enforced by lint, not by convention: these probes must fail ESLint.
import { describe, expect, it } from 'vitest';
import { ESLint, type Linter } from 'eslint';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

// lintText with a filePath inside the folder resolves the same config as a real file there, without
// leaving a stray file in main/engine for a parallel tsc or lint run to trip over. A file that is not on disk has
// no place in the TypeScript project, so the type-aware rules (not under test here) are switched off for it.
const WITHOUT_TYPES: Linter.Config = {
  files: ['**/*.ts', '**/*.tsx'],
  languageOptions: { parserOptions: { projectService: false } },
  rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
};

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT, overrideConfig: WITHOUT_TYPES });
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
  return (result?.messages ?? []).filter((m) => m.severity === 2).map((m) => m.ruleId ?? m.message);
}

describe('lint boundaries', () => {
  it("rejects import 'electron' inside main/engine", async () => {
    const ids = await ruleIds("import { app } from 'electron';\nexport const name = app.getName();\n", 'main/engine/io/__lint_probe__.ts');
    expect(ids).toContain('@typescript-eslint/no-restricted-imports');
  });

  it('rejects a value import of the contract in the renderer, but allows types', async () => {
    const bad = await ruleIds("import { METHOD_OF_CHANNEL } from '../preload/api';\nexport const m = METHOD_OF_CHANNEL;\n", 'renderer/__lint_probe__.ts');
    expect(bad).toContain('@typescript-eslint/no-restricted-imports');
    const good = await ruleIds("import type { FileHandle } from '../preload/api';\nexport const h: FileHandle = 'x';\n", 'renderer/__lint_probe__.ts');
    expect(good).toEqual([]);
  });

  it('allows electron in the shell', async () => {
    const ids = await ruleIds("import { app } from 'electron';\nexport const name = app.getName();\n", 'main/__lint_probe__.ts');
    expect(ids).toEqual([]);
  });
});
