// `npm run security`: electronegativity over the app's own code (main/, preload/, renderer/ and package.json),
// offline. Fails on any HIGH or MEDIUM finding that is not justified by an inline `eng-disable CHECK_ID` comment
// next to the code (electronegativity's own suppression syntax). The tool fetches translations and Electron's
// release list from the internet; both requests are answered "offline" here without touching the network.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const engDir = path.dirname(require.resolve('@doyensec/electronegativity/package.json'));

// Every `got` the tool loads resolves to one module: replace it with one that refuses at once.
const offline = () => Promise.reject(new Error('offline: delineate scans without network access'));
offline.head = offline;
offline.get = offline;
for (const from of [path.join(engDir, 'dist', 'locales'), path.join(engDir, 'dist', 'finder', 'checks', 'GlobalChecks')]) {
  const got = require.resolve('got', { paths: [from] });
  require.cache[got] = { id: got, filename: got, loaded: true, exports: offline };
}
// The tool's own chatter about the refused downloads is not a finding.
const log = console.log;
console.log = (...args) => {
  if (!/translations|Electron's (new )?releases/.test(String(args[0]))) log(...args);
};
const run = require(engDir);

// One scan over a copy of exactly the app's sources, so global checks see main, preload and renderer together.
const stage = mkdtempSync(path.join(tmpdir(), 'delineate-security-'));
try {
  for (const part of ['main', 'preload', 'renderer', 'package.json']) cpSync(path.join(root, part), path.join(stage, part), { recursive: true });
  const electronVersion = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
  const result = await run({ input: stage, electronVersion, isRelative: true, severitySet: 'informational', confidenceSet: 'tentative' });
  const blocking = result.issues.filter((i) => i.severity.value >= 2); // MEDIUM = 2, HIGH = 3
  for (const e of result.errors) if (!e.tolerable) log(`parse error: ${path.relative(stage, e.file)}: ${e.message}`);
  for (const i of result.issues) {
    const mark = i.severity.value >= 2 ? 'FAIL' : 'note';
    log(`${mark} ${i.severity.name}/${i.confidence.name} ${i.id} ${i.file}:${i.location.line}  ${i.description}`);
  }
  log(`electronegativity ${require(path.join(engDir, 'package.json')).version} (Electron ${electronVersion}): ${result.globalChecks} global + ${result.atomicChecks} atomic checks, ${result.issues.length} finding(s), ${blocking.length} high/medium unjustified`);
  const fatal = result.errors.filter((e) => !e.tolerable).length;
  process.exitCode = blocking.length > 0 || fatal > 0 ? 1 : 0;
} finally {
  rmSync(stage, { recursive: true, force: true });
}
