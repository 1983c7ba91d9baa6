// Enlargement to the model's resolution is capped: coarse imagery under a fine model must not ask for gigabytes.
import { describe, expect, it } from 'vitest';
import { MAX_UPSAMPLE, planResample } from '../../main/engine/inference/resample';
import type { GeoGeometry } from '../../preload/formats';

const utm = (gsdM: number): GeoGeometry => ({ type: 'geo', geotransform: [500000, gsdM, 0, 4000000, 0, -gsdM], crs: 'EPSG:32618' });

describe('planResample cap', () => {
  it('enlarges 300 m imagery for a 4.8 m model by MAX_UPSAMPLE only, and says so', () => {
    const plan = planResample({ mPerPx: 4.8 }, utm(300), 800, 700);
    expect(plan).not.toBeNull();
    expect(plan!.factor[0]).toBeCloseTo(MAX_UPSAMPLE, 6);
    expect(plan!.factor[1]).toBeCloseTo(MAX_UPSAMPLE, 6);
    expect(plan!.capped).toBe(true);
  });

  it('leaves moderate enlargements and all reductions alone', () => {
    const up = planResample({ mPerPx: 4.8 }, utm(10), 800, 700);
    // gsdM is the ground distance (UTM scale factor), so 10 map units are about 10.004 m.
    expect(up!.factor[0]).toBeCloseTo(10 / 4.8, 2);
    expect(up!.capped).toBeUndefined();
    const down = planResample({ mPerPx: 4.8 }, utm(0.6), 800, 700);
    expect(down!.factor[0]).toBeCloseTo(0.125, 2);
    expect(down!.capped).toBeUndefined();
  });
});
