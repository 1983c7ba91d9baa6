// Fuzz smoke test: 60 mutated inputs of every kind (fixed seed) through the real engine host; none may crash it,
// hang it or blow up its memory. The full run is `npm run fuzz -- --iterations 2000` (scripts/fuzz.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUZZ_KINDS, formatReport, runFuzz } from '../../scripts/fuzz-lib';

const ROOT = join(__dirname, '..', '..');
const HOST = join(ROOT, 'dist', 'engine-host.cjs');
const SAMPLES = join(ROOT, '..', 'shared', 'samples');
const skip = existsSync(HOST) ? null : 'dist/ is not built (npm run build)';
if (skip) console.warn(`fuzz smoke test skipped: ${skip}`);

describe.skipIf(skip !== null)(`parser fuzz smoke test${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
  it('60 cases: no crash, hang or unbounded allocation in our code', async () => {
    const options = { iterations: 60, seed: 7 };
    const report = await runFuzz({
      ...options,
      timeoutMs: 20_000,
      rssCapMb: 1536,
      heapMb: 1024,
      hostPath: HOST,
      samplesDir: existsSync(SAMPLES) ? SAMPLES : null,
      kinds: FUZZ_KINDS,
      findingsDir: null,
    });
    const text = formatReport(report, options);
    expect(report.cases, text).toBe(60);
    expect(report.counts.crash + report.counts.hang + report.counts.blowup, text).toBe(0);
    // Every kind was exercised, and most cases were refused cleanly rather than by a stray exception.
    for (const kind of FUZZ_KINDS) expect(Object.values(report.byKind[kind]).reduce((a, b) => a + b, 0), kind).toBeGreaterThan(0);
    expect(report.counts['clean-error'], text).toBeGreaterThan(report.counts['other-error']);
  }, 120_000);
});
