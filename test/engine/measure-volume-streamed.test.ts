// `delineate measure` on NIfTI label volumes above the streaming threshold (measure-streamed.ts,
// postprocess/streaming-volume.ts, io/nifti-stream.ts): read slice by slice (.nii by positional reads, .nii.gz
// inflated as a stream), 3D components joined across slices; file for file equal to the in-memory path for each
// connectivity, with size filtering, uint16 labels and nodata; truncated files give a clear error.
import { statSync, truncateSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Geometry, InstanceRecord } from '../../preload/formats';
import { openNifti, writeNifti } from '../../main/engine/io/nifti';
import { openNiftiSlices } from '../../main/engine/io/nifti-stream';
import { measureFiles, type MeasureOptions } from '../../main/engine/pipeline';
import type { Connectivity } from '../../main/engine/postprocess/components';
import { tempDir } from './helpers';
import { lcg } from './random-labels';
import { measureBothWays } from './measure-both-ways';

const temps: Array<() => void> = [];
const saved = { threshold: process.env.DELINEATE_STREAMING_THRESHOLD_PX, maxMb: process.env.DELINEATE_MAX_DECODED_MB };
afterEach(() => {
  for (const c of temps.splice(0)) c();
  if (saved.threshold === undefined) delete process.env.DELINEATE_STREAMING_THRESHOLD_PX;
  else process.env.DELINEATE_STREAMING_THRESHOLD_PX = saved.threshold;
  if (saved.maxMb === undefined) delete process.env.DELINEATE_MAX_DECODED_MB;
  else process.env.DELINEATE_MAX_DECODED_MB = saved.maxMb;
});

/** Ellipsoids of classes 1..3 (some thin, some spanning many slices), diagonal chains, speckle and nodata voxels. */
function labelVolume(W: number, H: number, D: number, seed: number, values: (rand: () => number) => number, nodata: number): Uint8Array | Uint16Array {
  const rand = lcg(seed);
  const out = nodata > 255 ? new Uint16Array(W * H * D) : new Uint8Array(W * H * D);
  for (let k = 0; k < 45; k++) {
    const v = values(rand);
    const cx = rand() * W;
    const cy = rand() * H;
    const cz = rand() * D;
    const rx = 1 + rand() * 7;
    const ry = 1 + rand() * 7;
    const rz = 0.5 + rand() * 6;
    for (let z = Math.max(0, Math.floor(cz - rz)); z <= Math.min(D - 1, Math.ceil(cz + rz)); z++) {
      for (let y = Math.max(0, Math.floor(cy - ry)); y <= Math.min(H - 1, Math.ceil(cy + ry)); y++) {
        for (let x = Math.max(0, Math.floor(cx - rx)); x <= Math.min(W - 1, Math.ceil(cx + rx)); x++) {
          if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 + ((z - cz) / rz) ** 2 <= 1) out[(z * H + y) * W + x] = v;
        }
      }
    }
  }
  // Chains touching only by edges or corners across slices: they join under 18/26 and not under 6.
  for (let k = 0; k < 6; k++) {
    const x0 = Math.floor(rand() * (W - 12));
    const y0 = Math.floor(rand() * (H - 12));
    const diag = k % 2 === 0;
    for (let z = 0; z < Math.min(D, 10); z++) out[(z * H + y0 + (diag ? z : 0)) * W + x0 + z] = 1;
  }
  for (let i = 0; i < out.length; i++) {
    const u = rand();
    if (u < 0.008) out[i] = values(rand);
    else if (u < 0.01) out[i] = nodata;
  }
  return out;
}

const GEOMETRY: Geometry = { type: 'medical', spacingMm: [0.8, 0.7, 2.5], originMm: [-40, 12, 30], direction: [1, 0, 0, 0, 0.8, 0.6, 0, -0.6, 0.8] };

async function writeCase(name: string, W: number, H: number, D: number, labels: Uint8Array | Uint16Array, imageName = 'image.nii', labelsName = 'labels.nii.gz'): Promise<{ dir: string; image: string; labels: string }> {
  const t = tempDir(`delineate-vol-${name}-`);
  temps.push(t.cleanup);
  const rand = lcg(31);
  const image = path.join(t.dir, imageName);
  const labelsFile = path.join(t.dir, labelsName);
  await writeNifti(image, { data: Int16Array.from({ length: W * H * D }, () => Math.floor(rand() * 3000) - 1024), width: W, height: H, depth: D, channels: 1, geometry: GEOMETRY });
  await writeNifti(labelsFile, { data: labels, width: W, height: H, depth: D, channels: 1, geometry: GEOMETRY });
  return { dir: t.dir, image, labels: labelsFile };
}

async function voxels(file: string): Promise<number[]> {
  const src = await openNifti(file);
  return Array.from((await src.read()).data);
}

async function expectStreamedEqualsInMemory(c: { dir: string; image: string; labels: string }, options: MeasureOptions): Promise<InstanceRecord[]> {
  const { str } = await measureBothWays(c, options, { files: ['instances.json', 'measurements.csv', 'overlay.png'], rasters: ['instances.nii.gz', 'labels.nii.gz'], readRaster: voxels });
  expect(str.document.instances.length).toBeGreaterThan(5);
  return str.document.instances;
}

describe('measure on NIfTI volumes above the streaming threshold', () => {
  const W = 48;
  const H = 40;
  const D = 24;
  const classes = (rand: () => number): number => 1 + Math.floor(rand() * 3);

  for (const [connectivity, minSizePx] of [
    [26, 0],
    [18, 4],
    [6, 0],
    [8, 3],
  ] as Array<[Connectivity, number]>) {
    it(`equals the in-memory instances, volumes, RECIST and surface fields (connectivity ${connectivity}${minSizePx ? `, min size ${minSizePx}` : ''})`, async () => {
      const c = await writeCase(`c${connectivity}`, W, H, D, labelVolume(W, H, D, connectivity, classes, 255));
      const instances = await expectStreamedEqualsInMemory(c, { connectivity, ...(minSizePx ? { minSizePx } : {}) });
      expect(instances.some((r) => r.bbox.max[2]! > r.bbox.min[2]!)).toBe(connectivity !== 8);
      expect(typeof instances[0]!.volumeMl).toBe('number');
      expect(typeof instances[0]!.surfaceAreaMm2).toBe('number');
    });
  }

  it('reads uint16 labels (values above 255, nodata 65535) from an uncompressed .nii and a gzip image', async () => {
    const labels = labelVolume(W, H, D, 5, (rand) => (rand() < 0.3 ? 300 : 1 + Math.floor(rand() * 2)), 65535);
    const c = await writeCase('u16', W, H, D, labels, 'image.nii.gz', 'labels.nii');
    const instances = await expectStreamedEqualsInMemory(c, { minSize: 3 });
    expect(instances.some((r) => r.classId === 300)).toBe(true);
  });

  it('measures a volume larger than the decoded-size limit, which the in-memory path refuses (memory bounded by the slice)', async () => {
    const c = await writeCase('limit', W, H, D, labelVolume(W, H, D, 4, classes, 255));
    // The image is 90 KiB decoded: a 40 KiB ceiling refuses any whole read, slices are 3.75 KiB.
    process.env.DELINEATE_MAX_DECODED_MB = String(40 / 1024);
    await expect(measureFiles(c.image, c.labels, path.join(c.dir, 'mem'), {})).rejects.toThrow(/over the .* limit/);
    process.env.DELINEATE_STREAMING_THRESHOLD_PX = '1000';
    const str = await measureFiles(c.image, c.labels, path.join(c.dir, 'str'), {});
    expect(str.document.instances.length).toBeGreaterThan(5);
    expect(str.document.instances.every((r) => typeof r.meanIntensity === 'number')).toBe(true);
  });

  it('refuses a truncated .nii.gz and a truncated .nii, naming the file', async () => {
    const c = await writeCase('trunc', W, H, D, labelVolume(W, H, D, 2, classes, 255), 'image.nii', 'labels.nii.gz');
    process.env.DELINEATE_STREAMING_THRESHOLD_PX = '1000';
    truncateSync(c.labels, Math.floor(statSync(c.labels).size / 2));
    await expect(measureFiles(c.image, c.labels, path.join(c.dir, 'out1'), {})).rejects.toThrow(/labels\.nii\.gz: (corrupt or truncated gzip data|truncated NIfTI)/);
    truncateSync(c.image, Math.floor(statSync(c.image).size / 2));
    const t = tempDir('delineate-vol-trunc2-');
    temps.push(t.cleanup);
    await expect(openNiftiSlices(c.image)).rejects.toThrow(/image\.nii: truncated NIfTI/);
  });

  it('reads a .nii.gz slice by slice without inflating it whole', async () => {
    const c = await writeCase('lazy', W, H, D, labelVolume(W, H, D, 3, classes, 255));
    const src = await openNiftiSlices(c.labels);
    const whole = await voxels(c.labels);
    const reader = src.slices();
    try {
      // Slices arrive in order, each one plane, equal to the whole read's planes.
      for (let z = 0; z < D; z++) expect(Array.from(await reader.next())).toEqual(whole.slice(z * W * H, (z + 1) * W * H));
      await expect(reader.next()).rejects.toThrow(/fewer slices/);
    } finally {
      await reader.close();
    }
  });
});
