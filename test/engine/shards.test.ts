// Shards: `segment --shard K/N` + `merge` give what one run gives (labels pixel for pixel, the same instances and class
// areas), for a raster below the windowed threshold (the in-memory run), above it (the windowed run, which runs on
// the whole raster's tile grid and so also equals the in-memory run), with resampling, and for a list of inputs;
// merge refuses shards that do not belong together; its labels and instances are Cloud-Optimized GeoTIFFs.
// A tiny real U-Net (3x3 convolutions: a receptive field, so window context matters) keeps the runs short.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { segmentToFolder } from '../../main/engine/pipeline';
import { mergeShards, segmentShard } from '../../main/engine/shards';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { resolveModel } from '../../main/engine/inference/manifest';
import type { Geometry, InstancesDocument, ModelManifest } from '../../preload/formats';
import { buildUNet } from '../fixtures/onnx-builder';
import { tempDir } from '../fixtures/models';
import { ensureCliBundle, hasGdal, readBand0, runCli } from './helpers';

const t = tempDir('delineate-shards-');
afterAll(() => t.cleanup());
const noProgress = (): void => undefined;
const models = path.join(t.dir, 'models');
const env = { DELINEATE_MODELS_DIR: models, DELINEATE_USER_MODELS_DIR: path.join(t.dir, 'none') };

function manifest(id: string, extra: Partial<ModelManifest> = {}): ModelManifest {
  return {
    id,
    name: 'Tiny U-Net',
    version: '1.0.0',
    task: 'semantic',
    kinds: ['image', 'geo'],
    file: 'model.onnx',
    input: { channels: ['red', 'green', 'blue'], sliceMode: '2d' },
    normalization: { type: 'fixed', mean: [128], std: [64] },
    tileSize: [128, 128],
    tileOverlap: 0.25,
    classes: [
      { name: 'a', color: '#ff0000' },
      { name: 'b', color: '#00ff00' },
    ],
    outputs: { type: 'softmax', backgroundChannel: true },
    license: 'MIT',
    ...extra,
  };
}

function writeModel(m: ModelManifest): string {
  const dir = path.join(models, m.id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
  writeFileSync(path.join(dir, 'model.onnx'), buildUNet({ inChannels: 3, outChannels: 3, widths: [4, 8], seed: 7 }).bytes);
  return dir;
}

/** RGB raster with smooth blobs and texture: the model's random weights turn it into patches of both classes. */
function rgb(W: number, H: number, seed: number): Uint8Array {
  const px = new Uint8Array(3 * W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const v = 128 + 90 * Math.sin((x + seed * 37) / 53) * Math.cos((y - seed * 11) / 41) + 20 * Math.sin((x * y) / 900 + seed);
      px[i] = Math.max(0, Math.min(255, v));
      px[W * H + i] = Math.max(0, Math.min(255, 255 - v + ((x * 7 + y * 13) % 23)));
      px[2 * W * H + i] = (x ^ y) & 0xff;
    }
  }
  return px;
}

async function writeGeo(file: string, W: number, H: number, seed: number, gsdM = 0.5): Promise<void> {
  const geometry: Geometry = { type: 'geo', geotransform: [500000, gsdM, 0, 5000000, 0, -gsdM], crs: 'EPSG:32633' };
  await writeTiff(file, { data: rgb(W, H, seed), width: W, height: H, depth: 1, channels: 3, geometry });
}

async function expectSameResult(one: string, merged: string): Promise<void> {
  const a = await readBand0(path.join(one, 'labels.tif'));
  const b = await readBand0(path.join(merged, 'labels.tif'));
  expect(b.width).toBe(a.width);
  let diff = 0;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) diff++;
  expect(diff).toBe(0);
  const ia = await readBand0(path.join(one, 'instances.tif'));
  const ib = await readBand0(path.join(merged, 'instances.tif'));
  let idDiff = 0;
  for (let i = 0; i < ia.data.length; i++) if (ia.data[i] !== ib.data[i]) idDiff++;
  expect(idDiff).toBe(0);
  const da = JSON.parse(readFileSync(path.join(one, 'instances.json'), 'utf8')) as InstancesDocument;
  const db = JSON.parse(readFileSync(path.join(merged, 'instances.json'), 'utf8')) as InstancesDocument;
  expect(db.instances.length).toBe(da.instances.length);
  expect(db.instances).toEqual(da.instances);
  expect(db.classes).toEqual(da.classes);
  expect(readFileSync(path.join(merged, 'measurements.csv'), 'utf8')).toBe(readFileSync(path.join(one, 'measurements.csv'), 'utf8'));
}

async function shardAndMerge(file: string, out: string, n: number, options: Parameters<typeof segmentToFolder>[2]): Promise<string[]> {
  const dirs: string[] = [];
  // Shards out of order, as a cluster finishes them.
  for (let k = n; k >= 1; k--) {
    const dir = path.join(out, `shard-${k}`);
    await segmentShard(file, dir, options, String(options.model), { k, n }, noProgress);
    dirs.push(dir);
  }
  await mergeShards(dirs, path.join(out, 'merged'), noProgress);
  return dirs;
}

describe('raster shards', () => {
  beforeAll(() => {
    writeModel(manifest('tiny'));
    writeModel(manifest('tiny-1m', { resolution: { mPerPx: 1 } }));
  });

  it('a 3072² GeoTIFF in 4 shards + merge equals one run: labels, instance count, class areas, COG output', async () => {
    const file = path.join(t.dir, 'big.tif');
    await writeGeo(file, 3072, 3072, 1);
    const model = await resolveModel(path.join(models, 'tiny'));
    const one = path.join(t.dir, 'big-one');
    await segmentToFolder(file, one, { model, threads: 1 }, noProgress);
    const out = path.join(t.dir, 'big-shards');
    const dirs = await shardAndMerge(file, out, 4, { model: path.join(models, 'tiny'), threads: 1 });
    // Window i belongs to shard (i mod 4) + 1: 3072² has 2 x 2 windows of 2048, one per shard.
    const windows = dirs.map((d) => (JSON.parse(readFileSync(path.join(d, 'shard.json'), 'utf8')) as { k: number; windows: Array<{ index: number }> }));
    for (const w of windows) expect(w.windows.map((e) => e.index)).toEqual([w.k - 1]);
    await expectSameResult(one, path.join(out, 'merged'));
    const doc = JSON.parse(readFileSync(path.join(one, 'instances.json'), 'utf8')) as InstancesDocument;
    // The case is only meaningful if objects exist and cross the window borders at 2048.
    expect(doc.instances.length).toBeGreaterThan(20);
    expect(doc.instances.some((r) => r.bbox.min[0]! < 2048 && r.bbox.max[0]! >= 2048)).toBe(true);
  }, 600_000);

  it.skipIf(!hasGdal)(`merge writes labels and instances as Cloud-Optimized GeoTIFFs${hasGdal ? '' : ' (skipped: GDAL missing)'}`, () => {
    for (const name of ['labels.tif', 'instances.tif']) {
      const f = path.join(t.dir, 'big-shards', 'merged', name);
      const info = spawnSync('gdalinfo', [f], { encoding: 'utf8' }).stdout;
      expect(info).toMatch(/LAYOUT=COG/);
      expect(info).toMatch(/Overviews: 1536x1536, 768x768, 384x384, 192x192/);
      const v = spawnSync('/usr/bin/python3', ['/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py', '--full-check=yes', f], { encoding: 'utf8' });
      expect(v.stdout + v.stderr).toMatch(/is a valid cloud optimized GeoTIFF/);
      expect(v.status).toBe(0);
    }
  });

  it('above the windowed threshold: the windowed run equals the in-memory run, and 3 shards + merge equal it', async () => {
    const file = path.join(t.dir, 'mid.tif');
    await writeGeo(file, 700, 530, 2);
    const model = await resolveModel(path.join(models, 'tiny'));
    const inMemory = path.join(t.dir, 'mid-mem');
    await segmentToFolder(file, inMemory, { model }, noProgress);
    const small = { windowedMinPx: 1000, windowPx: 256 };
    const windowed = path.join(t.dir, 'mid-win');
    const r = await segmentToFolder(file, windowed, { model, ...small }, noProgress);
    expect(r.outcome.document.inference?.windowed).toBeDefined();
    const a = await readBand0(path.join(inMemory, 'labels.tif'));
    const b = await readBand0(path.join(windowed, 'labels.tif'));
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    const out = path.join(t.dir, 'mid-shards');
    await shardAndMerge(file, out, 3, { model: path.join(models, 'tiny'), ...small });
    await expectSameResult(windowed, path.join(out, 'merged'));
    // Batches group different tiles in a window than in one run: each tile's output must not depend on its partners.
    const batched = path.join(t.dir, 'mid-shards-batch');
    await shardAndMerge(file, batched, 2, { model: path.join(models, 'tiny'), ...small, batch: 3 });
    await expectSameResult(windowed, path.join(batched, 'merged'));
  }, 300_000);

  it('with resampling to the model resolution (0.5 m image, 1 m model), shards + merge equal one run', async () => {
    const file = path.join(t.dir, 'res.tif');
    await writeGeo(file, 900, 700, 3);
    const model = await resolveModel(path.join(models, 'tiny-1m'));
    const one = path.join(t.dir, 'res-one');
    const r = await segmentToFolder(file, one, { model }, noProgress);
    expect(r.outcome.document.inference?.resampled).toBe(true);
    const out = path.join(t.dir, 'res-shards');
    await shardAndMerge(file, out, 2, { model: path.join(models, 'tiny-1m'), windowPx: 256 });
    await expectSameResult(one, path.join(out, 'merged'));
  }, 300_000);
});

describe('delineate segment --shard / merge (CLI)', () => {
  const images = path.join(t.dir, 'eight');
  beforeAll(async () => {
    await ensureCliBundle();
    if (!existsSync(path.join(models, 'tiny'))) writeModel(manifest('tiny'));
    mkdirSync(images, { recursive: true });
    for (let i = 0; i < 8; i++) await writeGeo(path.join(images, `tile-${i}.tif`), 300 + 10 * i, 260, 10 + i);
    await writeGeo(path.join(t.dir, 'other.tif'), 300, 260, 99);
    await writeGeo(path.join(t.dir, 'one.tif'), 300, 260, 42);
  });

  it('a folder of 8 images sharded in 3 + merge equals one batch run', () => {
    const batch = path.join(t.dir, 'eight-one');
    expect(runCli(['segment', images, '--model', 'tiny', '--out', batch], env).code).toBe(0);
    const dirs = [1, 2, 3].map((k) => path.join(t.dir, `eight-shard-${k}`));
    dirs.forEach((d, i) => {
      const r = runCli(['segment', images, '--model', 'tiny', '--out', d, '--shard', `${i + 1}/3`], env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
    // Input i goes to shard (i mod 3) + 1: 3, 3 and 2 inputs.
    expect(dirs.map((d) => readdirSync(d).filter((n) => n.startsWith('tile-')).length)).toEqual([3, 3, 2]);
    const merged = path.join(t.dir, 'eight-merged');
    const m = runCli(['merge', ...dirs, '--out', merged], env);
    expect(m.stderr).toBe('');
    expect(m.code).toBe(0);
    expect(readdirSync(merged).sort()).toEqual(readdirSync(batch).sort());
    for (const name of readdirSync(batch)) {
      const a = JSON.parse(readFileSync(path.join(batch, name, 'instances.json'), 'utf8')) as InstancesDocument;
      const b = JSON.parse(readFileSync(path.join(merged, name, 'instances.json'), 'utf8')) as InstancesDocument;
      expect(b.instances).toEqual(a.instances);
      expect(b.classes).toEqual(a.classes);
      expect(readFileSync(path.join(merged, name, 'labels.tif'))).toEqual(readFileSync(path.join(batch, name, 'labels.tif')));
    }
  }, 300_000);

  it('refuses bad K/N, a missing K, mixed sources and a repeated K with one line, exit 2, nothing written', () => {
    const one = path.join(t.dir, 'one.tif');
    for (const bad of ['5/4', '0/4', '4', 'a/b', '2/0']) {
      const r = runCli(['segment', one, '--model', 'tiny', '--out', path.join(t.dir, 'bad'), '--shard', bad], env);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--shard must be K\/N/);
    }
    expect(existsSync(path.join(t.dir, 'bad'))).toBe(false);
    const s = (file: string, k: number, n: number): string => {
      const d = path.join(t.dir, `cli-${path.basename(file, '.tif')}-${k}of${n}`);
      expect(runCli(['segment', file, '--model', 'tiny', '--out', d, '--shard', `${k}/${n}`], env).code).toBe(0);
      return d;
    };
    const a1 = s(one, 1, 2);
    const a2 = s(one, 2, 2);
    const b2 = s(path.join(t.dir, 'other.tif'), 2, 2);
    const cases: Array<[string[], RegExp]> = [
      [[a1], /shard 2\/2 missing/],
      [[a1, b2], /different source files/],
      [[a1, a1], /again/],
      [[a1, path.join(t.dir, 'eight')], /not a finished shard folder/],
    ];
    for (const [dirs, message] of cases) {
      const out = path.join(t.dir, 'merge-bad');
      const r = runCli(['merge', ...dirs, '--out', out], env);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    const good = runCli(['merge', a2, a1, '--out', path.join(t.dir, 'merge-good')], env);
    expect(good.code).toBe(0);
  }, 300_000);
});

describe('examples/slurm-array.sh and examples/kubernetes-indexed-job.yaml', () => {
  const ex = path.join(t.dir, 'examples');
  const bin = path.join(ex, 'bin');
  const input = path.join(ex, 'wide.tif');
  const repo = path.resolve(__dirname, '..', '..');
  const hasYaml = spawnSync('/usr/bin/python3', ['-c', 'import yaml'], { encoding: 'utf8' }).status === 0;
  // `delineate` on PATH, as the examples expect it, running this checkout's CLI with the test's models.
  const pathEnv = (): Record<string, string> => ({ ...env, PATH: `${bin}:${process.env.PATH ?? ''}` });

  beforeAll(async () => {
    await ensureCliBundle();
    if (!existsSync(path.join(models, 'tiny'))) writeModel(manifest('tiny'));
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, 'delineate'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(repo, 'bin', 'delineate.cjs')}" "$@"\n`, { mode: 0o755 });
    // Two windows of 2048 across, so both shards have work.
    await writeGeo(input, 2100, 300, 5);
    expect(runCli(['segment', input, '--model', 'tiny', '--out', path.join(ex, 'one')], env).code).toBe(0);
  }, 120_000);

  it('the Slurm script submits an array of N and a merge after it; its shard and merge steps give one run', async () => {
    // submit: a stand-in sbatch records its arguments and answers job ids.
    writeFileSync(path.join(bin, 'sbatch'), `#!/bin/sh\necho "$@" >> "${path.join(ex, 'sbatch.log')}"\necho $((1000 + $(wc -l < "${path.join(ex, 'sbatch.log')}")))\n`, { mode: 0o755 });
    const script = path.join(repo, 'examples', 'slurm-array.sh');
    const run = path.join(ex, 'slurm');
    const submit = spawnSync('bash', [script, input, run, '2', 'tiny'], { encoding: 'utf8', env: { ...process.env, ...pathEnv() } });
    expect(submit.stderr).toBe('');
    expect(submit.status).toBe(0);
    const calls = readFileSync(path.join(ex, 'sbatch.log'), 'utf8').trim().split('\n');
    expect(calls[0]).toMatch(/--array=1-2 .*DELINEATE_MODE=shard/);
    expect(calls[1]).toMatch(/--dependency=afterok:1001 .*DELINEATE_MODE=merge/);
    // What Slurm then runs: each array task, then the merge.
    for (const k of ['1', '2']) {
      const r = spawnSync('bash', [script, input, run, '2', 'tiny'], { encoding: 'utf8', env: { ...process.env, ...pathEnv(), DELINEATE_MODE: 'shard', SLURM_ARRAY_TASK_ID: k } });
      expect(r.status, r.stderr).toBe(0);
    }
    const m = spawnSync('bash', [script, input, run, '2', 'tiny'], { encoding: 'utf8', env: { ...process.env, ...pathEnv(), DELINEATE_MODE: 'merge' } });
    expect(m.status, m.stderr).toBe(0);
    expect(readFileSync(path.join(run, 'out', 'instances.json'), 'utf8').length).toBeGreaterThan(0);
    await expectSameResult(path.join(ex, 'one'), path.join(run, 'out'));
  }, 300_000);

  it.skipIf(!hasYaml)(`the Kubernetes Jobs' shard command (K = JOB_COMPLETION_INDEX + 1) and merge command give one run${hasYaml ? '' : ' (skipped: python3-yaml missing)'}`, async () => {
    const docs = JSON.parse(
      spawnSync('/usr/bin/python3', ['-c', 'import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))', path.join(repo, 'examples', 'kubernetes-indexed-job.yaml')], { encoding: 'utf8' }).stdout,
    ) as Array<{ kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: { completionMode?: string; completions?: number; template: { spec: { containers: Array<{ args: string[] }>; initContainers?: Array<{ args: string[] }> } } } }>;
    const config = docs.find((d) => d.kind === 'ConfigMap')!.data!;
    const shardsJob = docs.find((d) => d.metadata.name === 'delineate-shards')!;
    const mergeJob = docs.find((d) => d.metadata.name === 'delineate-merge')!;
    expect(shardsJob.spec!.completionMode).toBe('Indexed');
    expect(String(shardsJob.spec!.completions)).toBe(config.SHARDS);
    // The pods' shell scripts, with the shared volume moved under the test's folder and 2 shards of the tiny model.
    const data = path.join(ex, 'k8s');
    mkdirSync(path.join(data, 'in'), { recursive: true });
    const local = (script: string): string => script.replaceAll('/data/', `${data}/`);
    const podEnv = { ...process.env, ...pathEnv(), SHARDS: '2', MODEL: 'tiny', INPUT: input };
    const wait = local(mergeJob.spec!.template.spec.initContainers![0]!.args[0]!);
    for (const index of ['0', '1']) {
      const r = spawnSync('sh', ['-c', local(shardsJob.spec!.template.spec.containers[0]!.args[0]!)], { encoding: 'utf8', env: { ...podEnv, JOB_COMPLETION_INDEX: index } });
      expect(r.status, r.stderr).toBe(0);
    }
    expect(existsSync(path.join(data, 'shards', '2', 'shard.json'))).toBe(true);
    // The merge pod's wait ends once both shards are finished.
    expect(spawnSync('sh', ['-c', wait], { encoding: 'utf8', env: podEnv, timeout: 20_000 }).status).toBe(0);
    const m = spawnSync('sh', ['-c', local(mergeJob.spec!.template.spec.containers[0]!.args[0]!)], { encoding: 'utf8', env: podEnv });
    expect(m.status, m.stderr).toBe(0);
    await expectSameResult(path.join(ex, 'one'), path.join(data, 'out'));
  }, 300_000);
});
