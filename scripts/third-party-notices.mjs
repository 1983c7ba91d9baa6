// Writes THIRD-PARTY-NOTICES.txt: the name, version, declared licence and licence text of every third-party package
// the app ships. Those are the production dependencies in package-lock.json that are installed here (optional
// packages for other platforms are not shipped from this machine), plus the packages Vite bundles into the
// renderer (React), which are devDependencies only because the bundle inlines them. The build writes it into dist/
// (shown in the app's About view) and electron-builder copies it beside the program.
// Usage: node scripts/third-party-notices.mjs [out-file]   (default dist/THIRD-PARTY-NOTICES.txt)
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Packages inlined into the renderer bundle; their dependencies in the lock file follow. */
export const RENDERER_BUNDLED = ['react', 'react-dom'];

const LICENCE_FILE = /^(licen[cs]e|copying|notice)([-._].*)?$/i;

const MIT_TEXT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

const ISC_TEXT = `Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby
granted, provided that the above copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE INCLUDING ALL
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT,
INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE OR PERFORMANCE OF
THIS SOFTWARE.`;

/**
 * The text for a package that ships no licence file: MIT and ISC are short and fixed (the copyright line names the
 * package's author); other licences are named with where their full text is published.
 */
function standardText(license, author, name) {
  const holder = typeof author === 'string' ? author : (author?.name ?? `the authors of ${name}`);
  const ids = license.replace(/[()]/g, '').split(/\s+(?:AND|OR)\s+/);
  return ids.map((id) => {
    if (id === 'MIT') return `MIT License\n\nCopyright (c) ${holder}\n\n${MIT_TEXT}`;
    if (id === 'ISC') return `ISC License\n\nCopyright (c) ${holder}\n\n${ISC_TEXT}`;
    return `${id}: full text at https://spdx.org/licenses/${id}.html`;
  }).join('\n\n');
}

/** Lock-file key of the package `name` as resolved from `from` (node_modules lookup, innermost first). */
function resolveKey(packages, from, name) {
  let base = from;
  for (;;) {
    const key = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[key]) return key;
    if (!base) return null;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut < 0 ? '' : base.slice(0, cut);
  }
}

/** The lock-file keys of the shipped third-party packages. */
export function shippedKeys(root) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const packages = lock.packages ?? {};
  const keys = new Set(Object.keys(packages).filter((k) => k !== '' && !packages[k].dev && !packages[k].link));
  // The renderer's bundled packages and everything they depend on.
  const queue = RENDERER_BUNDLED.map((n) => resolveKey(packages, '', n)).filter(Boolean);
  while (queue.length > 0) {
    const key = queue.pop();
    if (keys.has(key) && !packages[key].dev) continue;
    keys.add(key);
    for (const dep of Object.keys(packages[key].dependencies ?? {})) {
      const k = resolveKey(packages, key, dep);
      if (k && !keys.has(k)) queue.push(k);
    }
  }
  return { packages, keys: [...keys].sort() };
}

/** One notice per installed shipped package, sorted by name; and the optional ones not installed here. */
export function collectNotices(root) {
  const { packages, keys } = shippedKeys(root);
  const notices = [];
  const notInstalled = [];
  const seen = new Set();
  for (const key of keys) {
    const dir = join(root, key);
    const name = packages[key].name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (!existsSync(join(dir, 'package.json'))) {
      notInstalled.push(`${name}@${packages[key].version}`);
      continue;
    }
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const id = `${name}@${pkg.version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const license = typeof pkg.license === 'string' ? pkg.license : (packages[key].license ?? 'UNKNOWN');
    const files = readdirSync(dir).filter((f) => LICENCE_FILE.test(f)).sort();
    const texts = files.map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8').trim() }));
    const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    notices.push({ name, version: pkg.version, license, author: pkg.author ?? null, repository: repository ?? pkg.homepage ?? null, texts });
  }
  notices.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  return { notices, notInstalled: notInstalled.sort() };
}

export function renderNotices({ notices, notInstalled }, appName = 'Delineate') {
  const rule = '='.repeat(78);
  const out = [
    `${appName}: third-party notices`,
    '',
    `${appName} includes the following ${notices.length} third-party packages. Each is listed with its version and`,
    'declared licence, followed by the licence texts the package ships. Model weights have licences of their own:',
    'see the About view or `delineate models inspect <id>`.',
    '',
    ...notices.map((n) => `  ${n.name} ${n.version}  ${n.license}`),
    '',
  ];
  for (const n of notices) {
    out.push(rule, `${n.name} ${n.version}`, `Licence: ${n.license}`);
    if (n.repository) out.push(`Source: ${n.repository}`);
    out.push('');
    if (n.texts.length === 0) out.push(`(The package ships no licence file; its package.json declares ${n.license}.)`, '', standardText(n.license, n.author, n.name), '');
    for (const t of n.texts) out.push(`--- ${t.file}`, t.text, '');
  }
  if (notInstalled.length > 0) {
    out.push(rule, 'Optional packages for other platforms, not installed on the machine that built this copy:', ...notInstalled.map((p) => `  ${p}`), '');
  }
  return out.join('\n');
}

/** Writes the notices atomically (temporary file, then rename). */
export function writeNotices(root, outFile) {
  const text = renderNotices(collectNotices(root));
  mkdirSync(dirname(outFile), { recursive: true });
  const tmp = `${outFile}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, outFile);
  return text;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const out = resolve(process.argv[2] ?? join(root, 'dist', 'THIRD-PARTY-NOTICES.txt'));
  const text = writeNotices(root, out);
  console.log(`wrote ${out} (${text.split('\n').length} lines)`);
}
