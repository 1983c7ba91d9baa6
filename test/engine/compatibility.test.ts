// checkCompatibility: the one check of a model against an image that the CLI, instances.json and the model picker
// share. Resolution more than 2x off (either way) warns with both resolutions and the factor; a colour picture is
// unfit for a one-channel scanner model; patient and map data must match the model's kinds.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { checkCompatibility, imageTraits, isUnfit, RESOLUTION_WARN_FACTOR, type ImageTraits, type ManifestTraits } from '../../main/engine/inference/compatibility';
import { openImage } from '../../main/engine/io';
import type { Geometry, ModelManifest } from '../../preload/formats';
import { brightManifest } from '../fixtures/models';
import { repoRoot, tempDir } from './helpers';

const shipped = (id: string): ModelManifest => JSON.parse(readFileSync(path.join(repoRoot, 'models', id, 'manifest.json'), 'utf8')) as ModelManifest;
const landcover = shipped('landcover-deepglobe');
const brain = shipped('brain-flair-lgg');

/** A UTM raster (metres) with square pixels of `gsdM`. */
const utm = (gsdM: number): Geometry => ({ type: 'geo', geotransform: [500000, gsdM, 0, 4000000, 0, -gsdM], crs: 'EPSG:32618' });
const image = (over: Partial<ImageTraits>): ImageTraits => ({ kind: 'geo', channels: 3, width: 512, height: 512, geometry: utm(4.8), ...over });

describe('checkCompatibility', () => {
  it('warns on 300 m Landsat under the 4.8 m land-cover model with both resolutions and the factor', () => {
    expect(landcover.resolution?.mPerPx).toBe(4.8);
    const w = checkCompatibility(landcover, image({ geometry: utm(300), width: 791, height: 718 }));
    expect(w.map((x) => x.code)).toEqual(['resolution']);
    const m = w[0]!.message;
    expect(m).toMatch(/resolution/);
    expect(m).toContain('300 m/px');
    expect(m).toContain('4.8 m/px');
    expect(m).toContain('62.5x coarser');
    // Still offered: the picker shows the warning, the person decides.
    expect(isUnfit(w)).toBe(false);
  });

  it('warns on imagery much finer than the model, and not within a factor of 2', () => {
    const fine = checkCompatibility(landcover, image({ geometry: utm(0.5) }));
    expect(fine.map((x) => x.code)).toEqual(['resolution']);
    expect(fine[0]!.message).toContain('0.5 m/px');
    expect(fine[0]!.message).toContain('9.6x finer');
    expect(checkCompatibility(landcover, image({ geometry: utm(4.8 * RESOLUTION_WARN_FACTOR * 0.98) }))).toEqual([]);
    expect(checkCompatibility(landcover, image({ geometry: utm(4.8 / (RESOLUTION_WARN_FACTOR * 0.98)) }))).toEqual([]);
    expect(checkCompatibility(landcover, image({ geometry: utm(4.8 * RESOLUTION_WARN_FACTOR * 1.05) }))[0]!.message).toContain('2.1x coarser');
    expect(checkCompatibility(landcover, image({ geometry: utm(6) }))).toEqual([]);
  });

  it('compares pixel spacing in mm for medical models, and says nothing without a resolution on either side', () => {
    const mm: ManifestTraits = { ...brightManifest('mm'), resolution: { mmPerPx: 1 } };
    const spacing = (s: number): Geometry => ({ type: 'medical', spacingMm: [s, s, 3], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] });
    const w = checkCompatibility(mm, image({ kind: 'medical', channels: 1, geometry: spacing(0.4) }));
    expect(w.map((x) => x.code)).toEqual(['resolution']);
    expect(w[0]!.message).toContain('0.4 mm/px');
    expect(w[0]!.message).toContain('1 mm/px');
    expect(w[0]!.message).toContain('2.5x finer');
    expect(checkCompatibility(mm, image({ kind: 'medical', channels: 1, geometry: spacing(0.9) }))).toEqual([]);
    // The brain model states no resolution; a plain picture has none; a geo raster without a CRS has no known unit.
    expect(checkCompatibility(brain, image({ kind: 'medical', channels: 1, geometry: spacing(0.2) }))).toEqual([]);
    expect(checkCompatibility(landcover, image({ kind: 'image', geometry: { type: 'pixel' } }))).toEqual([]);
    expect(checkCompatibility(landcover, image({ geometry: { type: 'geo', geotransform: [0, 300, 0, 0, 0, -300], crs: null } }))).toEqual([]);
  });

  it('rules out the brain model for an RGB picture, not for a grey one; generic one-band models read any first band', () => {
    const rgb = checkCompatibility(brain, image({ kind: 'image', channels: 3, geometry: { type: 'pixel' } }));
    expect(rgb.map((x) => x.code)).toEqual(['channels']);
    expect(rgb[0]!.message).toMatch(/MR FLAIR/);
    expect(isUnfit(rgb)).toBe(true);
    expect(checkCompatibility(brain, image({ kind: 'image', channels: 1, geometry: { type: 'pixel' } }))).toEqual([]);
    expect(checkCompatibility(brightManifest('grey'), image({ kind: 'geo', channels: 3 }))).toEqual([]);
  });

  it('rules out a model that needs more channels than the image has', () => {
    const w = checkCompatibility(landcover, image({ kind: 'image', channels: 1, geometry: { type: 'pixel' } }));
    expect(w.map((x) => x.code)).toEqual(['channels']);
    expect(w[0]!.message).toContain('reads 3 channels (R, G, B); the image has 1');
    expect(isUnfit(w)).toBe(true);
  });

  it('rules out another kind of data, but lets a plain picture take any model', () => {
    const w = checkCompatibility(landcover, image({ kind: 'medical', channels: 3, geometry: { type: 'medical', spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] } }));
    expect(w.map((x) => x.code)).toEqual(['kind']);
    expect(w[0]!.message).toContain('georeferenced or plain');
    expect(isUnfit(w)).toBe(true);
    expect(checkCompatibility({ ...landcover, kinds: ['geo'] }, image({ kind: 'image', geometry: { type: 'pixel' } }))).toEqual([]);
  });

  describe('a grey picture saved as RGB', () => {
    const t = tempDir('delineate-compat-');
    afterAll(() => t.cleanup());

    it('keeps the brain model for grey pixels stored in three channels, not for a colour photo', async () => {
      const W = 300;
      const grey = Buffer.alloc(W * W * 3);
      const colour = Buffer.alloc(W * W * 3);
      for (let i = 0; i < W * W; i++) {
        const v = (i * 7) % 200;
        grey.fill(v, 3 * i, 3 * i + 3);
        colour[3 * i] = v;
        colour[3 * i + 1] = 255 - v;
        colour[3 * i + 2] = (v * 3) % 256;
      }
      const files = { grey: path.join(t.dir, 'grey.png'), colour: path.join(t.dir, 'colour.png') };
      await sharp(grey, { raw: { width: W, height: W, channels: 3 } }).png().toFile(files.grey);
      await sharp(colour, { raw: { width: W, height: W, channels: 3 } }).png().toFile(files.colour);
      for (const [name, expected] of [['grey', []], ['colour', ['channels']]] as const) {
        const src = await openImage(files[name]);
        try {
          expect(src.channels).toBe(3);
          const traits = await imageTraits(src, [brain]);
          expect(traits.grey).toBe(name === 'grey');
          expect(checkCompatibility(brain, traits).map((w) => w.code)).toEqual(expected);
        } finally {
          await src.close();
        }
      }
    });
  });
});
