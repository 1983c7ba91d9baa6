// Open folder...'s recursive scan: a parent folder nesting two patients' studies (generated CT series in two
// subfolders, and a real MR file from ../shared/samples when present) lists every study and series with its
// description, modality, image count and a thumbnail; non-DICOM files are counted and skipped; progress is
// reported and a cancelled scan stops. The parent folder itself now opens (its largest series) instead of failing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCtSeries } from '../fixtures/dicom-writer';
import { commonFolder, scanDicomFolder } from '../../main/engine/io/dicom/scan';
import { openImage } from '../../main/engine/io';
import { sharedDir, skipNote } from './helpers';
import { checkCompatibility, imageTraits } from '../../main/engine/inference/compatibility';
import { brightManifest } from '../fixtures/models';

const BRIGHT = { ...brightManifest('bright'), kinds: ['medical' as const, 'image' as const] };

const MR_SAMPLE = join(sharedDir, 'samples', 'dicom', 'pydicom', 'MR_small.dcm');
const HAVE_MR = existsSync(MR_SAMPLE);
const CT_UID = '1.2.826.0.1.3680043.9.7433.3.801';
const SCOUT_UID = '1.2.826.0.1.3680043.9.7433.3.802';

describe('recursive DICOM folder scan', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'delineate-scan-'));
    const ct = join(root, 'PAT1', 'STUDY1', 'SER1');
    const scout = join(root, 'PAT1', 'STUDY1', 'SER2', 'part');
    mkdirSync(ct, { recursive: true });
    mkdirSync(scout, { recursive: true });
    const common = { orientation: [1, 0, 0, 0, 1, 0], rescaleIntercept: -1024, instanceNumber: (z: number) => z + 1 };
    // A bright square in the middle slice only, so the thumbnail (middle image) is not uniform.
    writeCtSeries(ct, { ...common, width: 40, height: 32, depth: 9, spacingMm: [0.7, 0.7, 2], originMm: [0, 0, 0], value: (x, y, z) => (z === 4 && x > 10 && x < 30 && y > 8 && y < 24 ? 2000 : 24), fileName: (z) => `IM${z}`, seriesUid: CT_UID, seriesDescription: 'CT abdomen venous' });
    writeCtSeries(scout, { ...common, width: 16, height: 16, depth: 3, spacingMm: [1, 1, 5], originMm: [0, 0, 0], value: (x) => 24 + x * 50, fileName: (z) => `s${z}.dcm`, seriesUid: SCOUT_UID, seriesDescription: 'Scout' });
    writeFileSync(join(root, 'PAT1', 'README.txt'), 'not an image');
    if (HAVE_MR) {
      mkdirSync(join(root, 'PAT2', 'MR'), { recursive: true });
      copyFileSync(MR_SAMPLE, join(root, 'PAT2', 'MR', 'IM0001'));
    }
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lists every study and series below a parent folder, with descriptions, modality, counts and thumbnails', async () => {
    const progress: Array<{ stage: string; done: number; total: number }> = [];
    const scan = await scanDicomFolder(root, { onProgress: (p) => progress.push(p) });
    const all = scan.studies.flatMap((st) => st.series);
    const ct = all.find((s) => s.uid === CT_UID)!;
    const scout = all.find((s) => s.uid === SCOUT_UID)!;
    expect([ct.description, ct.modality, ct.images, ct.size]).toEqual(['CT abdomen venous', 'CT', 9, [40, 32, 9]]);
    expect([scout.description, scout.modality, scout.images, scout.size]).toEqual(['Scout', 'CT', 3, [16, 16, 3]]);
    // Each series opens from its own folder (the deepest one holding all its files).
    expect(ct.dir).toBe(join(root, 'PAT1', 'STUDY1', 'SER1'));
    expect(scout.dir).toBe(join(root, 'PAT1', 'STUDY1', 'SER2', 'part'));
    // Both CT series are one study (one StudyInstanceUID), named with its patient for the browser.
    const ctStudy = scan.studies.find((st) => st.series.some((s) => s.uid === CT_UID))!;
    expect(ctStudy.series.map((s) => s.uid).sort()).toEqual([CT_UID, SCOUT_UID]);
    expect([ctStudy.patientName, ctStudy.patientId, ctStudy.date]).toEqual(['Test, Phantom', 'PHANTOM-ID-123', '2024-01-01']);
    // Thumbnails: small RGBA of the middle image, which has the bright square.
    const t = ct.thumbnail!;
    expect(Math.max(t.width, t.height)).toBeLessThanOrEqual(64);
    expect(t.rgba.length).toBe(t.width * t.height * 4);
    const grey = Array.from({ length: t.width * t.height }, (_, i) => t.rgba[i * 4]!);
    expect(Math.max(...grey) - Math.min(...grey)).toBeGreaterThan(100);
    expect(scan.skippedFiles).toBeGreaterThanOrEqual(1);
    expect(scan.filesScanned).toBe(9 + 3 + 1 + (HAVE_MR ? 1 : 0));
    const files = progress.filter((p) => p.stage === 'scanning files');
    expect(files.at(-1)).toEqual({ stage: 'scanning files', done: scan.filesScanned, total: scan.filesScanned });
  });

  it.skipIf(!HAVE_MR)(`lists a real MR file of another patient as its own study${skipNote(!HAVE_MR, `${MR_SAMPLE} missing`)}`, async () => {
    const scan = await scanDicomFolder(root);
    expect(scan.studies.length).toBe(2);
    const mr = scan.studies.flatMap((st) => st.series).find((s) => s.modality === 'MR')!;
    expect([mr.images, mr.size]).toEqual([1, [64, 64, 1]]);
    expect(mr.thumbnail?.width).toBe(64);
    expect(mr.dir).toBe(join(root, 'PAT2', 'MR'));
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort(new DOMException('cancelled', 'AbortError'));
    await expect(scanDicomFolder(root, { signal: controller.signal })).rejects.toThrow(/cancel|abort/i);
  });

  it('opens the parent folder itself at its largest series instead of failing', async () => {
    const src = await openImage(root);
    try {
      expect([src.format, src.width, src.height, src.depth]).toEqual(['dicom', 40, 32, 9]);
    } finally {
      await src.close();
    }
    const scout = await openImage(root, { seriesUid: SCOUT_UID });
    expect(scout.depth).toBe(3);
    await scout.close();
  });

  it('marks a series with a missing slice: opens only with gaps allowed, and its runs say so', async () => {
    const dir = join(root, 'GAPS', 'SER');
    mkdirSync(dir, { recursive: true });
    writeCtSeries(dir, { orientation: [1, 0, 0, 0, 1, 0], rescaleIntercept: -1024, instanceNumber: (z: number) => z + 1, width: 24, height: 20, depth: 8, spacingMm: [0.8, 0.8, 2], originMm: [0, 0, 0], value: (x) => 24 + x, fileName: (z) => `G${z}`, seriesUid: '1.2.826.0.1.3680043.9.7433.3.803', seriesDescription: 'With a gap', skip: [4] });
    const scan = await scanDicomFolder(join(root, 'GAPS'));
    const series = scan.studies.flatMap((st) => st.series)[0]!;
    expect(series.problem).toBeUndefined();
    expect(series.gaps).toBe('1 gap(s) in the slice positions: about 1 missing slice(s) (largest step 4 mm, usual 2 mm)');
    expect(scan.studies.flatMap((st) => st.series).some((x) => x.uid === CT_UID)).toBe(false);
    const ctScan = await scanDicomFolder(join(root, 'PAT1'));
    expect(ctScan.studies.flatMap((st) => st.series).every((x) => x.gaps === undefined)).toBe(true);
    await expect(openImage(dir)).rejects.toThrow(/gap.*--allow-gaps/);
    const src = await openImage(dir, { allowGaps: true });
    try {
      expect(src.depth).toBe(8);
      const warnings = checkCompatibility(BRIGHT, await imageTraits(src, [BRIGHT]));
      expect(warnings.map((w) => w.code)).toEqual(['series']);
      expect(warnings[0]!.message).toMatch(/^series: 1 gap\(s\) in the slice positions.*filled at their positions.*z = 4, zero-based\); what is outlined and measured on those planes rests on interpolated images$/);
    } finally {
      await src.close();
    }
  });

  it('finds the deepest common folder of a series', () => {
    expect(commonFolder(['/a/b/c/1.dcm', '/a/b/d/2.dcm'])).toBe('/a/b');
    expect(commonFolder(['/a/b/c/1.dcm'])).toBe('/a/b/c');
  });
});
