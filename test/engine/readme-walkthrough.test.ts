// The README's first command-line block runs line by line in a fresh clone of this repository (its committed
// files, plus this checkout's build and node_modules): each line exits 0, and the block uses no ../shared data.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot, tempDir } from './helpers';

/** The lines of the first ```sh block under "## Command line", comments kept (bash ignores them). */
function walkthroughLines(readme: string): string[] {
  const section = readme.split(/^## Command line\s*$/m)[1] ?? '';
  const block = /^```sh\n([\s\S]*?)^```/m.exec(section)?.[1] ?? '';
  return block.split('\n').filter((l) => l.trim() !== '');
}

const lines = walkthroughLines(readFileSync(path.join(repoRoot, 'README.md'), 'utf8'));
const built = existsSync(path.join(repoRoot, 'dist', 'cli.cjs'));
const isClone = existsSync(path.join(repoRoot, '.git')) && spawnSync('git', ['--version']).status === 0;
const skip = !built ? 'dist/ is not built, run npm run build' : !isClone ? 'not a git checkout, or git missing' : null;
const t = tempDir('delineate-readme-');
afterAll(() => t.cleanup());

describe('README command-line walkthrough', () => {
  it('starts from npm run sample and uses no ../shared data', () => {
    expect(lines[0]).toMatch(/^npm run sample\b/);
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l, l).not.toMatch(/\.\.\/shared/);
  });

  it.skipIf(skip !== null)(`runs line by line in a fresh clone${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
    const dir = path.join(t.dir, 'p');
    const clone = spawnSync('git', ['clone', '-q', repoRoot, dir], { encoding: 'utf8' });
    expect(clone.status, clone.stderr).toBe(0);
    // The build and the installed packages come from this checkout (a clone has neither until npm ci).
    for (const d of ['dist', 'node_modules']) symlinkSync(path.join(repoRoot, d), path.join(dir, d));
    for (const line of lines) {
      const r = spawnSync('bash', ['-c', line], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${line}\n${r.stderr}`).toBe(0);
    }
    expect(existsSync(path.join(dir, 'out', 'phantom.nii.gz'))).toBe(true);
  }, 300_000);
});
