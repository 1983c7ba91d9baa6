// End-to-end time of `delineate segment <volume> --model brain-flair-lgg --out <dir>` on a 256x256x22 FLAIR volume,
// as a person runs it: a fresh process per run (start-up, model load, session, normalisation, inference,
// post-processing, measurements, writing the result folder). Target: <= 3 s per volume on 2 cores.
//   node scripts/run-ts.mjs scripts/bench-brain.ts [--runs 5] [--slices 22] [--model brain-flair-lgg] [--keep]
// Prints each run (wall time, the model's share from instances.json, CPU time, the machine's load), then the median; the last
// line is the end-to-end seconds per volume. Needs `npm run build` (the CLI bundle is copied aside first, so a
// rebuild during the run cannot change it). The volume: see bench-flair-volume.ts.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { flairVolume } from './bench-flair-volume';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const RUNS = Math.max(1, Number(arg('runs', '5')));
const SLICES = Number(arg('slices', '22'));
const MODEL = arg('model', 'brain-flair-lgg');
const KEEP = process.argv.includes('--keep');
const ROOT = process.cwd();

const HAVE_SH = process.platform !== 'win32' && existsSync('/bin/sh');

/** User + system seconds of the shell's children from the last line of `times` ("0m2.310s 0m0.420s"). */
function childCpuSeconds(stdout: string): number | null {
  const last = stdout.trim().split('\n').pop() ?? '';
  const m = /^(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s$/.exec(last.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : null;
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const cliBundle = path.join(ROOT, 'dist', 'cli.cjs');
  if (!existsSync(cliBundle)) throw new Error('dist/cli.cjs is missing: run npm run build first');
  // Inside the repository, so the copied bundle finds package.json, node_modules and the shipped models.
  const bundles = path.join(ROOT, '.tmp', `bench-brain-${process.pid}`);
  mkdirSync(path.join(bundles, 'dist'), { recursive: true });
  mkdirSync(path.join(bundles, 'bin'), { recursive: true });
  for (const f of ['cli.cjs', 'cli.cjs.map']) if (existsSync(path.join(ROOT, 'dist', f))) copyFileSync(path.join(ROOT, 'dist', f), path.join(bundles, 'dist', f));
  copyFileSync(path.join(ROOT, 'bin', 'delineate.cjs'), path.join(bundles, 'bin', 'delineate.cjs'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'delineate-bench-brain-'));
  try {
    const volume = await flairVolume(dir, SLICES);
    console.log(`volume: ${volume.about}; model ${MODEL}; ${RUNS} run${RUNS > 1 ? 's' : ''}; ${os.cpus().length} cores`);
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const out = path.join(dir, `run-${i}`);
      const args = [path.join(bundles, 'bin', 'delineate.cjs'), 'segment', volume.file, '--model', MODEL, '--out', out];
      const t0 = performance.now();
      // Through sh, whose `times` then reports the CPU time of the run: on a busy machine the wall time says more
      // about the other jobs than about us, the CPU time does not.
      const run = HAVE_SH
        ? spawnSync('/bin/sh', ['-c', `"$0" "$@" && times`, process.execPath, ...args], { encoding: 'utf8' })
        : spawnSync(process.execPath, args, { encoding: 'utf8' });
      const s = (performance.now() - t0) / 1000;
      if (run.status !== 0) throw new Error(`delineate segment failed (${run.status}): ${run.stderr}`);
      wall.push(s);
      const cpuS = childCpuSeconds(run.stdout);
      if (cpuS !== null) cpu.push(cpuS);
      const doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as { inference?: { seconds?: number; inferenceSeconds?: number }; instances: unknown[] };
      const modelS = Number(doc.inference?.inferenceSeconds ?? NaN);
      console.log(`run ${i + 1}: ${s.toFixed(2)} s end to end (session.run ${modelS.toFixed(2)} s${cpuS !== null ? `; CPU ${cpuS.toFixed(2)} s user+sys` : ''}), ${doc.instances.length} object(s); load ${os.loadavg()[0]!.toFixed(1)}`);
    }
    console.log(`brain ${SLICES} slices: median ${median(wall).toFixed(2)} s, fastest ${Math.min(...wall).toFixed(2)} s (target <= 3 s)${cpu.length ? `; CPU median ${median(cpu).toFixed(2)} s user+sys` : ''}; load ${os.loadavg()[0]!.toFixed(1)}`);
    console.log(`end-to-end seconds per ${SLICES}-slice volume: ${median(wall).toFixed(2)}`);
  } finally {
    if (KEEP) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    rmSync(bundles, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
