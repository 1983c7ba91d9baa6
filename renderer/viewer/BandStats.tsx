// The display panel's statistics of a 16-bit or float raster: per band min, max, mean and the percentiles of the
// stretch the engine shows it with by default, computed on the smallest adequate overview (engine render/band-stretch.ts).
import type { BandStatsSummary } from '../../preload/api';
import { trim } from './units';

/**
 * Per-band statistics of a 16-bit or float raster (from the overview the engine picked) and the percentile stretch
 * each band is shown with by default; rows of the bands on screen are marked.
 */
export function BandStatsTable({ stats, shownBands, stretched }: { stats: BandStatsSummary; shownBands: number[]; stretched: boolean }) {
  const level = `${stats.levelWidth}×${stats.levelHeight}`;
  return (
    <div className="band-stats" data-testid="band-stats">
      <div className="muted" data-testid="band-stats-note" title="Statistics of the smallest overview that still has about 1024 pixels on its long side; nodata and masked pixels left out">
        {stretched ? `Stretch: ${stats.lowPct}–${stats.highPct} % per band` : `Window set by hand (Auto: ${stats.lowPct}–${stats.highPct} % per band)`} · from {level} px
      </div>
      <table className="num">
        <thead>
          <tr>
            <th>Band</th>
            <th>Min</th>
            <th>Max</th>
            <th>Mean</th>
            <th>P{stats.lowPct}</th>
            <th>P{stats.highPct}</th>
          </tr>
        </thead>
        <tbody>
          {stats.bands.map((b) => (
            <tr key={b.band} data-testid={`band-stats-${b.band}`} className={shownBands.includes(b.band) ? 'active' : undefined}>
              <td>{b.band + 1}</td>
              <td>{statText(b.min)}</td>
              <td>{statText(b.max)}</td>
              <td>{statText(b.mean)}</td>
              <td>{statText(b.low)}</td>
              <td>{statText(b.high)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A statistic as the panel writes numbers ("—" for a band with no valid pixel). */
function statText(v: number): string {
  return trim(v);
}
