// Window/level presets by modality: CT gets its HU presets and the file's window as Auto; MR (and images without a
// modality) get percentiles of the whole volume, Auto = 1-99 %, never fixed HU numbers; the value range that
// right-drag scales with comes from the volume.
import { describe, expect, it } from 'vitest';
import { percentileOf, windowPresetsFor } from '../../main/engine/io/dicom/presets';
import { sampleValues, volumeWindows } from '../../main/engine/render/windows';
import type { ImageSource, PixelBlock, Region } from '../../main/engine/image';

const ramp = (n: number, max: number): Float64Array => Float64Array.from({ length: n }, (_, i) => (i * max) / (n - 1));

describe('window presets by modality', () => {
  it('gives CT the HU presets, the file window as Auto, and a unit', () => {
    const w = windowPresetsFor('CT', ramp(1001, 3000), { center: 40, width: 400 });
    expect(w.presets.map((p) => p.id)).toEqual(['file', 'Brain', 'Soft tissue', 'Lung', 'Bone', 'Liver', 'full']);
    expect(w.presets.find((p) => p.id === 'Lung')).toMatchObject({ center: -600, width: 1500, kind: 'modality' });
    expect(w.autoId).toBe('file');
    expect(w.valueUnit).toBe('HU');
    // Without a file window, Auto is soft tissue.
    expect(windowPresetsFor('CT', ramp(11, 100)).autoId).toBe('Soft tissue');
  });

  it('gives MR percentile presets of the volume, Auto = 1st to 99th percentile, and no HU presets', () => {
    const values = ramp(10_001, 4000);
    const w = windowPresetsFor('MR', values, { center: 600, width: 1200 });
    expect(w.presets.some((p) => p.kind === 'modality')).toBe(false);
    expect(w.autoId).toBe('auto');
    const auto = w.presets.find((p) => p.id === 'auto')!;
    expect(auto.center - auto.width / 2).toBeCloseTo(40, 6);
    expect(auto.center + auto.width / 2).toBeCloseTo(3960, 6);
    expect(w.presets.map((p) => p.id)).toEqual(['file', 'auto', 'soft', 'contrast', 'full']);
    expect(w.valueUnit).toBeUndefined();
    expect([w.rangeLow, w.rangeHigh]).toEqual([percentileOf(values, 0.5), percentileOf(values, 99.5)]);
  });

  it('treats an image without a modality (NIfTI) as signal units', () => {
    expect(windowPresetsFor(null, ramp(101, 1)).autoId).toBe('auto');
    expect(windowPresetsFor(undefined, new Float64Array(0)).presets).toEqual([]);
  });

  it('samples the whole volume, not one slice, and leaves nodata out', async () => {
    // 3 slices: 0..99, 1000..1099, 2000..2099 (and one nodata voxel per slice).
    const W = 10;
    const H = 10;
    const D = 3;
    const data = new Float32Array(W * H * D);
    for (let z = 0; z < D; z++) for (let i = 0; i < W * H; i++) data[z * W * H + i] = i === 0 ? -9999 : z * 1000 + i;
    const src = {
      file: 'mr.nii',
      format: 'nifti',
      kind: 'medical',
      width: W,
      height: H,
      depth: D,
      channels: 1,
      dtype: 'float32',
      nodata: -9999,
      geometry: { type: 'medical', spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] },
      meta: { modality: 'MR' },
      async read(r: Region = {}): Promise<PixelBlock> {
        const z = r.z ?? 0;
        return { data: data.slice(z * W * H, (z + 1) * W * H), width: W, height: H, depth: 1, channels: 1, dtype: 'float32' };
      },
      async close() {},
    } as unknown as ImageSource;
    const sample = await sampleValues(src);
    expect(sample.length).toBe(3 * 99);
    expect([sample[0], sample[sample.length - 1]]).toEqual([1, 2099]);
    const w = await volumeWindows(src);
    expect(w.autoId).toBe('auto');
    expect(w.rangeHigh - w.rangeLow).toBeGreaterThan(1900);
  });
});
