// The app's run against the CLI's on the same input: the shipped brain model (models/brain-flair-lgg) on a 22-slice
// FLAIR volume, once through the engine host as the app runs it (a forked dist/engine-host.cjs, the 'listModels' and
// 'segment' calls of the segment:run handler, progress included, the result cloned back to this process) and once
// as `delineate segment <volume> --model brain-flair-lgg --out <dir>` (a fresh process per run, writing the result
// folder). Wall time of each, median of the runs, alternating so a busy machine hurts both alike. Target: the app
// within 1.2x of the CLI.
//   node scripts/run-ts.mjs scripts/bench-app-vs-cli.ts [--runs 3] [--slices 22] [--keep]
// The volume: one patient's 22 FLAIR slices from ../shared/data/tumor-lgg-flair written as NIfTI (nominal
// 0.94 x 0.94 x 5 mm; the data set states no geometry) when that folder is there, else a generated one. Needs
// `npm run build` (the bundles are copied aside first, so a rebuild during the run cannot change them).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineHostClient, forkHost } from '../main/engine/host/client';
import { flairVolume } from './bench-flair-volume';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const RUNS = Math.max(1, Number(arg('runs', '3')));
const SLICES = Number(arg('slices', '22'));
const KEEP = process.argv.includes('--keep');
// Run from the repository root (npm run bench), as the other benchmarks are.
const ROOT = process.cwd();
const MODEL = 'brain-flair-lgg';

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const dist = path.join(ROOT, 'dist');
  for (const f of ['cli.cjs', 'engine-host.cjs']) {
    if (!existsSync(path.join(dist, f))) throw new Error(`dist/${f} is missing: run npm run build first`);
  }
  // Inside the repository, so both bundles find the app root (package.json), node_modules and the shipped models.
  // The same layout (bin/ beside dist/), so the copied bin/delineate.cjs runs the copied CLI bundle.
  const bundles = path.join(ROOT, '.tmp', `bench-app-vs-cli-${process.pid}`);
  mkdirSync(path.join(bundles, 'dist'), { recursive: true });
  mkdirSync(path.join(bundles, 'bin'), { recursive: true });
  for (const f of ['cli.cjs', 'cli.cjs.map', 'engine-host.cjs', 'engine-host.cjs.map']) if (existsSync(path.join(dist, f))) copyFileSync(path.join(dist, f), path.join(bundles, 'dist', f));
  copyFileSync(path.join(ROOT, 'bin', 'delineate.cjs'), path.join(bundles, 'bin', 'delineate.cjs'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'delineate-bench-app-vs-cli-'));
  const engine = new EngineHostClient({ spawn: forkHost(path.join(bundles, 'dist', 'engine-host.cjs'), [], { DELINEATE_AUTOSAVE_DIR: path.join(dir, 'autosave') }) });
  try {
    const volume = await flairVolume(dir, SLICES);
    console.log(`volume: ${volume.about}; model ${MODEL}; ${RUNS} run${RUNS > 1 ? 's' : ''} each, alternating`);
    await engine.start();
    const app: number[] = [];
    const cli: number[] = [];
    const post: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // The app: what the segment:run handler asks the engine host, with progress as the window gets it.
      let t0 = performance.now();
      let postAt: number | null = null;
      await engine.call('listModels', []);
      const r = await engine.call('segment', [volume.file, { modelId: MODEL }, {}], {
        jobId: `bench-${i}`,
        onProgress: (p) => {
          if (p.stage === 'postprocess' && postAt === null) postAt = performance.now();
        },
      });
      const appS = (performance.now() - t0) / 1000;
      app.push(appS);
      if (postAt !== null) post.push((performance.now() - postAt) / 1000);
      // The CLI, as a person runs it.
      t0 = performance.now();
      const out = path.join(dir, `cli-${i}`);
      const run = spawnSync(process.execPath, [path.join(bundles, 'bin', 'delineate.cjs'), 'segment', volume.file, '--model', MODEL, '--out', out], { encoding: 'utf8' });
      const cliS = (performance.now() - t0) / 1000;
      if (run.status !== 0) throw new Error(`delineate segment failed (${run.status}): ${run.stderr}`);
      cli.push(cliS);
      console.log(`run ${i + 1}: app ${appS.toFixed(2)} s (model ${Number(r.document.inference?.seconds).toFixed(2)} s), cli ${cliS.toFixed(2)} s, ${r.document.instances.length} object(s); load ${os.loadavg()[0]!.toFixed(1)}`);
    }
    const a = median(app);
    const c = median(cli);
    if (post.length) console.log(`app after the post-processing stage began: median ${median(post).toFixed(2)} s`);
    console.log(`app-vs-cli brain ${SLICES} slices: app ${a.toFixed(1)} s, cli ${c.toFixed(1)} s, ratio ${(a / c).toFixed(2)} (target <= 1.2)`);
  } finally {
    await engine.stop();
    if (KEEP) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    rmSync(bundles, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
