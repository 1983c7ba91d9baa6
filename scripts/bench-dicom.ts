// Benchmark: load a generated 512x512x300 CT series (headers + all pixels) and report time and peak memory,
// beside dcm2niix on the same folder when it is installed. Run: npm run bench -- dicom [depth]

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDicom } from '../main/engine/io/dicom';
import { writeCtSeries } from '../test/fixtures/dicom-writer';

const size = 512;
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;

export async function benchDicom(depth = 300): Promise<void> {
const dir = mkdtempSync(join(tmpdir(), 'delineate-bench-dicom-'));
try {
  const t0 = performance.now();
  writeCtSeries(dir, {
    width: size,
    height: size,
    depth,
    spacingMm: [0.7, 0.7, 1.25],
    orientation: [1, 0, 0, 0, 1, 0],
    originMm: [-179, -179, -200],
    rescaleIntercept: -1024,
    value: (x, y, z) => ((x - 256) ** 2 + (y - 256) ** 2 < 200 ** 2 ? 1000 + ((x + y + z) % 200) : 24),
    fileName: (z) => `IM${String((z * 7919) % depth).padStart(5, '0')}`,
    instanceNumber: (z) => depth - z,
    seriesUid: '1.2.826.0.1.3680043.9.7433.9.1',
  });
  console.log(`generated ${size}x${size}x${depth} CT series in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const t1 = performance.now();
  const src = await openDicom(dir);
  const t2 = performance.now();
  const block = await src.read();
  const t3 = performance.now();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(
    `delineate: headers ${((t2 - t1) / 1000).toFixed(2)} s + pixels ${((t3 - t2) / 1000).toFixed(2)} s = ` +
      `${((t3 - t1) / 1000).toFixed(2)} s; volume ${src.dtype} ${mb(block.data.byteLength)}; ` +
      `peak RSS ${mb(peak)} (${mb(peak - rssBefore)} above the ${mb(rssBefore)} at start)`,
  );

  const hasDcm2niix = spawnSync('sh', ['-c', 'command -v dcm2niix']).status === 0;
  if (!hasDcm2niix) {
    console.log('dcm2niix: not installed (apt-get install dcm2niix)');
  } else {
    const out = mkdtempSync(join(tmpdir(), 'delineate-bench-nii-'));
    const args = ['-z', 'n', '-b', 'n', '-f', 'vol', '-o', out, dir];
    const t4 = performance.now();
    let peakText = 'n/a (no /usr/bin/time)';
    if (existsSync('/usr/bin/time')) {
      const r = spawnSync('/usr/bin/time', ['-v', 'dcm2niix', ...args], { encoding: 'utf8' });
      const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1];
      if (kb) peakText = mb(Number(kb) * 1024);
    } else {
      execFileSync('dcm2niix', args, { stdio: 'pipe' });
    }
    const t5 = performance.now();
    console.log(`dcm2niix:  ${((t5 - t4) / 1000).toFixed(2)} s (reads and writes NIfTI); peak RSS ${peakText}`);
    rmSync(out, { recursive: true, force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
}

// `node scripts/run-ts.mjs scripts/bench-dicom.ts [depth]` (what `npm run bench -- dicom` runs).
if (/bench-dicom\.c?js$/.test(process.argv[1] ?? '')) void benchDicom(process.argv[2] !== undefined ? Number(process.argv[2]) : undefined);
