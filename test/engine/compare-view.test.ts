// The comparisons the Compare view shows (engine/compare/view.ts): kept results of two dates go in, every date comes
// back on the common grid with its change overlay. Real data from ../shared (skipped without it): a glioblastoma pair
// with its expert masks, and two overlapping Sentinel-2 patches with the later labels edited to create change.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import type { GeoGeometry, ManifestClass } from '../../preload/formats';
import type { MedicalChangeDocument } from '../../preload/compare';
import { CompareStore, trackColour } from '../../main/engine/compare/view';
import { loadResultFolder } from '../../main/engine/export/exporter';
import { openImage } from '../../main/engine/io/index';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { measureFiles } from '../../main/engine/pipeline';
import { sharedDir, skipNote, tempDir } from './helpers';
import { writeCtSeries } from '../fixtures/dicom-writer';

const GBM = path.join(sharedDir, 'data', 'longitudinal-gbm-t1c', 'patient01');
const HAVE_GBM = existsSync(path.join(GBM, 'baseline.nii.gz'));
const S2 = path.join(sharedDir, 'data', 'landcover-sentinel2-korea');
const HAVE_S2 = existsSync(path.join(S2, 'labels'));
const work = tempDir('delineate-compare-view-');
afterAll(() => work.cleanup());

/** Pixels where two RGBA bitmaps differ. */
function differing(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i += 4) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) n++;
  return n;
}

function opaque(overlay: Uint8Array): number {
  let n = 0;
  for (let i = 3; i < overlay.length; i += 4) if (overlay[i]! > 0) n++;
  return n;
}

describe.skipIf(!HAVE_GBM)(`Compare view of a real glioblastoma pair${skipNote(!HAVE_GBM, '../shared/data/longitudinal-gbm-t1c missing')}`, () => {
  it('orders the dates, puts both on the baseline grid with the lesion in its track colour, and forgets it on close', async () => {
    const b = path.join(work.dir, 'gbm-b');
    const f = path.join(work.dir, 'gbm-f');
    await measureFiles(path.join(GBM, 'baseline.nii.gz'), path.join(GBM, 'baseline_mask.nii.gz'), b, {});
    await measureFiles(path.join(GBM, 'followup.nii.gz'), path.join(GBM, 'followup_mask.nii.gz'), f, {});
    const store = new CompareStore();
    const stages: string[] = [];
    // Follow-up first: the dates decide the order.
    const r = await store.run(
      [
        { path: path.join(GBM, 'followup.nii.gz'), result: await loadResultFolder(f) },
        { path: path.join(GBM, 'baseline.nii.gz'), result: await loadResultFolder(b) },
      ],
      { dates: ['1997-01-17', '1996-08-13'], onProgress: (_f, m) => stages.push(m) },
    );
    expect(r.kind).toBe('medical');
    expect(r.timepoints.map((t) => [t.name, t.date, t.input])).toEqual([
      ['baseline.nii.gz', '1996-08-13', 1],
      ['followup.nii.gz', '1997-01-17', 0],
    ]);
    expect(r.grid).toMatchObject({ width: 256, height: 256, depth: 24 });
    const change = r.change as MedicalChangeDocument;
    // No work-folder path reaches the window.
    expect(JSON.stringify(change)).not.toMatch(/delineate-compare-/);
    expect(change.totals.volumeMl[0]).toBeGreaterThan(0);
    expect(stages.some((s) => /regist/i.test(s))).toBe(true);
    const lesion = change.lesions.find((l) => l.instances[0] !== null && l.instances[1] !== null)!;
    expect(lesion).toBeDefined();
    // The slice through the lesion: find it from the baseline's overlay over all slices.
    let best = { z: 0, n: 0 };
    for (let z = 0; z < 24; z++) {
      const n = opaque(store.slice({ compareId: r.compareId, timepoint: 0, z, maxSize: 128 }).overlay);
      if (n > best.n) best = { z, n };
    }
    expect(best.n).toBeGreaterThan(0);
    // A row click goes to the slice where the track is largest: the lesion shows there.
    const at = r.trackSlices?.find((t) => t.track === lesion.track);
    expect(at).toBeDefined();
    expect(opaque(store.slice({ compareId: r.compareId, timepoint: 0, z: at!.z, maxSize: 128 }).overlay)).toBeGreaterThan(0);
    const s0 = store.slice({ compareId: r.compareId, timepoint: 0, z: best.z, maxSize: 256 });
    const s1 = store.slice({ compareId: r.compareId, timepoint: 1, z: best.z, maxSize: 256 });
    expect([s0.width, s0.height, s0.scale]).toEqual([256, 256, 1]);
    expect(differing(s0.rgba, s1.rgba)).toBeGreaterThan(1000);
    expect(opaque(s1.overlay)).toBeGreaterThan(0);
    // The colour sent with the result (the table's swatch) is the one the slices are drawn with.
    expect(at!.rgb).toEqual(trackColour(lesion.track));
    const [cr, cg, cb] = at!.rgb;
    const hasColour = (o: Uint8Array): boolean => {
      for (let i = 0; i < o.length; i += 4) if (o[i + 3] === 255 && o[i] === cr && o[i + 1] === cg && o[i + 2] === cb) return true;
      return false;
    };
    expect(hasColour(s0.overlay)).toBe(true);
    expect(hasColour(s1.overlay)).toBe(true);
    expect(() => store.slice({ compareId: r.compareId, timepoint: 2, z: 0, maxSize: 64 })).toThrow(/date 2/);
    // Targets chosen by the user: RECIST is recomputed from them and says so; null goes back to compare's own choice.
    const chosen = store.targets(r.compareId, [lesion.track]);
    expect(chosen.response.recistTargets).toEqual([lesion.track]);
    expect(chosen.lesions.find((l) => l.track === lesion.track)!.target).toBe(true);
    expect(chosen.response.reasons.some((x) => x.includes('chosen by the user'))).toBe(true);
    expect(chosen.timepoints).toEqual(change.timepoints);
    const absent = change.lesions.find((l) => l.instances[0] === null);
    if (absent) expect(() => store.targets(r.compareId, [absent.track])).toThrow(new RegExp(`track ${absent.track} cannot be a target`));
    expect(() => store.targets(r.compareId, [])).toThrow(/at least one target/);
    expect(store.targets(r.compareId, null)).toEqual(change);
    await store.close(r.compareId);
    expect(() => store.slice({ compareId: r.compareId, timepoint: 0, z: 0, maxSize: 64 })).toThrow(/no such comparison/);
  }, 240_000);
});

describe('Compare view runs', () => {
  it('a cancelled run rejects and leaves no work folder behind', async () => {
    const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('delineate-compare-')));
    const abort = new AbortController();
    abort.abort(new DOMException('cancelled', 'AbortError'));
    const store = new CompareStore();
    // Two files that exist (taken as images to segment), so the run gets as far as its first cancellation point.
    await expect(store.run([{ path: __filename }, { path: path.join(__dirname, 'helpers.ts') }], { model: 'any', signal: abort.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const left = readdirSync(tmpdir()).filter((n) => n.startsWith('delineate-compare-') && !before.has(n));
    expect(left).toEqual([]);
  });

  it('a failed run (a missing file) names it and leaves no work folder behind', async () => {
    const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('delineate-compare-')));
    const missing = path.join(work.dir, 'missing.nii.gz');
    await expect(new CompareStore().run([{ path: __filename }, { path: missing }], { model: 'any' })).rejects.toThrow(/missing\.nii\.gz.*no such file/);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('delineate-compare-') && !before.has(n))).toEqual([]);
  });

  it('refuses a series of a folder of several that is not the one a comparison reads, naming it', async () => {
    const dir = path.join(work.dir, 'two-series');
    mkdirSync(dir, { recursive: true });
    const base = { width: 16, height: 16, spacingMm: [1, 1, 2] as [number, number, number], orientation: [1, 0, 0, 0, 1, 0], originMm: [0, 0, 0] as [number, number, number], rescaleIntercept: 0, value: (x: number, y: number) => x + y, instanceNumber: (z: number) => z + 1 };
    writeCtSeries(dir, { ...base, depth: 6, seriesUid: '1.2.826.0.1.3680043.9.7433.9.1', seriesDescription: 'large', fileName: (z) => `a${z}.dcm` });
    writeCtSeries(dir, { ...base, depth: 3, seriesUid: '1.2.826.0.1.3680043.9.7433.9.2', seriesDescription: 'small', fileName: (z) => `b${z}.dcm` });
    const store = new CompareStore();
    await expect(store.run([{ path: dir, seriesUid: '1.2.826.0.1.3680043.9.7433.9.2' }, { path: __filename }], { model: 'any' })).rejects.toThrow(/two-series: holds 2 series and the one open \(small\) is not its largest/);
    // The largest series passes this check (and fails later: these files are no medical time points with results).
    await expect(store.run([{ path: dir, seriesUid: '1.2.826.0.1.3680043.9.7433.9.1' }, { path: __filename }], { model: 'any' })).rejects.not.toThrow(/holds 2 series/);
  });

  it('needs two images', async () => {
    await expect(new CompareStore().run([{ path: path.join(work.dir, 'one.nii.gz') }], {})).rejects.toThrow(/at least two/);
  });
});

describe.skipIf(!HAVE_S2)(`Compare view of two Sentinel-2 dates${skipNote(!HAVE_S2, '../shared/data/landcover-sentinel2-korea missing')}`, () => {
  it('shows both dates on the earliest grid and colours the changed pixels by their new class', async () => {
    const CLASSES: ManifestClass[] = [
      { name: 'building', color: '#ff0000' },
      { name: 'road', color: '#ffff00' },
      { name: 'field', color: '#00ff00' },
      { name: 'forest', color: '#006400' },
    ];
    const pick = readdirSync(path.join(S2, 'labels')).filter((n) => n.startsWith('202309_mask_'))[0]!;
    const k = /_mask_(\d+)\.tif$/.exec(pick)![1]!;
    const image = path.join(S2, 'images', `202309_patchN_${k}.tif`);
    // The later date: the same patch's labels with a block made building (the dataset's map is static).
    const src = await openImage(path.join(S2, 'labels', pick));
    const labels = Uint8Array.from((await src.read()).data);
    const geometry = src.geometry as GeoGeometry;
    const { width, height } = src;
    await src.close();
    for (let y = 10; y < 60; y++) for (let x = 10; x < 60; x++) labels[y * width + x] = 1;
    const editedLabels = path.join(work.dir, 'edited.tif');
    await writeTiff(editedLabels, { data: labels, width, height, depth: 1, channels: 1, geometry, nodata: 255 });
    await measureFiles(image, path.join(S2, 'labels', pick), path.join(work.dir, 's2-a'), { classes: CLASSES });
    await measureFiles(image, editedLabels, path.join(work.dir, 's2-b'), { classes: CLASSES });
    const store = new CompareStore();
    const r = await store.run(
      [
        { path: image, result: await loadResultFolder(path.join(work.dir, 's2-a')) },
        { path: image, result: await loadResultFolder(path.join(work.dir, 's2-b')) },
      ],
      { dates: ['2023-09-01', '2024-12-01'] },
    );
    expect(r.kind).toBe('geo');
    expect(r.grid).toMatchObject({ width, height, depth: 1 });
    expect(r.grid.geotransform).toEqual(geometry.geotransform);
    const change = r.change;
    if (change.kind !== 'geo') throw new Error('expected a map comparison');
    const toBuilding = change.transitions.filter((t) => t.to === 1 && t.from !== 1);
    expect(toBuilding.reduce((s, t) => s + t.pixels, 0)).toBeGreaterThan(0);
    const s0 = store.slice({ compareId: r.compareId, timepoint: 0, z: 0, maxSize: Math.max(width, height) });
    const s1 = store.slice({ compareId: r.compareId, timepoint: 1, z: 0, maxSize: Math.max(width, height) });
    // The same image on both dates here: identical pixels, and the change only inside the edited block, in red.
    expect(differing(s0.rgba, s1.rgba)).toBe(0);
    expect(opaque(s0.rgba)).toBeGreaterThan(0);
    let inside = 0;
    let outside = 0;
    for (let y = 0; y < s1.height; y++) {
      for (let x = 0; x < s1.width; x++) {
        const i = (y * s1.width + x) * 4;
        if (s1.overlay[i + 3] === 0) continue;
        if (x >= 10 && x < 60 && y >= 10 && y < 60) {
          inside++;
          expect([s1.overlay[i], s1.overlay[i + 1], s1.overlay[i + 2]]).toEqual([255, 0, 0]);
        } else outside++;
      }
    }
    expect(inside).toBe(toBuilding.reduce((s, t) => s + t.pixels, 0));
    expect(outside).toBe(0);
    await store.close(r.compareId);
  }, 120_000);
});
