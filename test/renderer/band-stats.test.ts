// The display panel's band statistics of a 16-bit or float raster: one row per band with min, max, mean and the
// stretch's percentiles as the engine sent them, the level they came from, the bands on screen marked, and whether
// the per-band stretch is what is shown (Auto) or a hand-set window replaced it.
import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { BandStatsTable } from '../../renderer/viewer/BandStats';
import type { BandStatsSummary } from '../../preload/api';

const stats: BandStatsSummary = {
  levelWidth: 1500,
  levelHeight: 1000,
  lowPct: 2,
  highPct: 98,
  bands: [
    { band: 0, validCount: 1_500_000, min: 912, max: 4120, mean: 2011.25, stdDev: 501, low: 1103, high: 3790 },
    { band: 1, validCount: 1_500_000, min: 1604, max: 4811, mean: 2705.5, stdDev: 498, low: 1800, high: 4466 },
    { band: 2, validCount: 0, min: NaN, max: NaN, mean: NaN, stdDev: NaN, low: NaN, high: NaN },
  ],
};

/** Cell texts of one row. */
function cells(html: string, band: number): string[] {
  const row = new RegExp(`<tr[^>]*data-testid="band-stats-${band}"[^>]*>(.*?)</tr>`).exec(html)?.[1] ?? '';
  return [...row.matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1]!.replace(/<!-- -->/g, ''));
}

describe('band statistics in the display panel', () => {
  it('one row per band with the engine figures, the overview size and the stretch in use', () => {
    const html = renderToStaticMarkup(createElement(BandStatsTable, { stats, shownBands: [0, 1], stretched: true }));
    expect(html).toContain('data-testid="band-stats"');
    expect(html).toMatch(/Stretch: 2–98 % per band · from 1500×1000 px/);
    expect(html).toContain('<th>P2</th>');
    expect(html).toContain('<th>P98</th>');
    const first = cells(html, 0);
    expect(first[0]).toBe('1');
    // Min, max, mean, p2, p98 (thousands separators dropped; the mean is rounded for display).
    const [min, max, mean, low, high] = first.slice(1).map((t) => Number(t.replace(/[^\d.-]/g, '')));
    expect([min, max, low, high]).toEqual([912, 4120, 1103, 3790]);
    expect(mean).toBeCloseTo(2011.25, 0);
    expect(cells(html, 1)[0]).toBe('2');
    expect(cells(html, 1)[4]!.replace(/[^\d.]/g, '')).toBe('1800');
    // A band with no valid pixel shows dashes, never NaN.
    expect(cells(html, 2).slice(1)).toEqual(['—', '—', '—', '—', '—']);
    expect(html).not.toContain('NaN');
    // The shown bands are marked, the others not.
    expect(html).toMatch(/<tr data-testid="band-stats-0" class="active">/);
    expect(html).toMatch(/<tr data-testid="band-stats-2">/);
  });

  it('says when a hand-set window replaced the per-band stretch', () => {
    const html = renderToStaticMarkup(createElement(BandStatsTable, { stats, shownBands: [2], stretched: false }));
    expect(html).toMatch(/Window set by hand \(Auto: 2–98 % per band\)/);
    expect(html).toMatch(/<tr data-testid="band-stats-2" class="active">/);
  });
});
