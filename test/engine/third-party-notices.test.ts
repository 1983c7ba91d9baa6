// THIRD-PARTY-NOTICES.txt (scripts/third-party-notices.mjs): every shipped package (production dependencies and
// what Vite bundles into the renderer) with its version, declared licence and licence text; build tools are not in it.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir } from '../fixtures/models';

const repo = path.resolve(__dirname, '..', '..');
const t = tempDir('delineate-notices-');
const out = path.join(t.dir, 'sub', 'THIRD-PARTY-NOTICES.txt');
const r = spawnSync(process.execPath, [path.join(repo, 'scripts', 'third-party-notices.mjs'), out], { encoding: 'utf8', timeout: 60_000 });
const text = r.status === 0 ? readFileSync(out, 'utf8') : '';
/** "  name version  licence" summary lines, by name. */
const listed = new Map(
  text
    .split('\n')
    .map((l) => /^ {2}(\S+) (\S+) {2}(.+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, { version: m[2]!, license: m[3]! }]),
);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : /\.tsx?$/.test(f) ? [p] : [];
  });
}

afterAll(() => t.cleanup());

describe('third-party notices', () => {
  it('are written (into a folder it creates)', () => {
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(text).toMatch(/^Delineate: third-party notices/);
  });

  it('list every production dependency with its installed version and licence', () => {
    const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of Object.keys(pkg.dependencies)) {
      const installed = JSON.parse(readFileSync(path.join(repo, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
      expect(listed.get(name)?.version, name).toBe(installed.version);
    }
    expect(listed.get('onnxruntime-node')?.license).toBe('MIT');
    expect(listed.get('sharp')?.license).toBe('Apache-2.0');
  });

  it('include what the renderer bundle inlines (every bare import of renderer/)', () => {
    const imports = new Set(
      sources(path.join(repo, 'renderer')).flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/^import (?!type )[^'"]*from '([^./][^']*)'/gm)].map((m) => {
          const spec = m[1]!;
          return spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        }),
      ),
    );
    expect(imports.has('react')).toBe(true);
    for (const name of imports) expect(listed.has(name), name).toBe(true);
    expect(listed.has('scheduler')).toBe(true);
  });

  it('leave out build and test tools', () => {
    for (const tool of ['vitest', 'eslint', 'typescript', 'esbuild', 'electron-builder', 'vite']) expect(listed.has(tool), tool).toBe(false);
  });

  it('carry the licence texts, not only their names', () => {
    const section = (name: string) => text.split(/^=+$/m).find((s) => s.trimStart().startsWith(`${name} `)) ?? '';
    // sharp ships its LICENSE file: its text is copied.
    expect(section('sharp')).toMatch(/--- LICENSE\n/);
    expect(section('sharp')).toContain('Apache License');
    // onnxruntime-node ships none: the standard MIT text stands in, with the package's author.
    expect(section('onnxruntime-node')).toContain('ships no licence file');
    expect(section('onnxruntime-node')).toContain('Permission is hereby granted, free of charge');
  });
});
