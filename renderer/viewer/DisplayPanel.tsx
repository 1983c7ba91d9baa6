// Display controls: the views of a volume (single, or axial/coronal/sagittal with the crosshair tool),
// window/level (numbers, presets by modality with the active one shown, Auto), the pixel size of an image without
// geometry (so areas read in mm² or m²), band selection for multiband rasters (grey, or an RGB composite), and the
// per-band statistics and stretch of 16-bit and float rasters.
import { apply, useStore } from '../state/store';
import * as cmd from '../state/commands';
import * as op from '../state/operations';
import { tip } from '../shortcuts';
import { setLayout } from './mpr';
import { lacksGeometry, plain, trim, userPixelSize } from './units';
import { activePreset, applyPreset, autoWindow, setPixelSize } from './clinical';
import { useEffect, useState } from 'react';
import type { PixelSize } from '../../preload/api';
import { BandStatsTable } from './BandStats';

export function DisplayPanel() {
  const image = useStore((s) => s.image);
  const slice = useStore((s) => s.slice);
  const display = useStore((s) => s.display);
  const layout = useStore((s) => s.layout);
  const tool = useStore((s) => s.tool);
  const crosshair = useStore((s) => s.crosshair);
  const windowsState = useStore((s) => s.windows);
  if (!image) return null;
  const info = image.info;
  const shown = display.window ?? slice?.window;
  const windows = windowsState && windowsState.handle === image.handle ? windowsState.value : null;
  const active = activePreset(windows, shown);
  const autoLabel = windows?.presets.find((p) => p.id === windows.autoId)?.label;
  const channels = info.channels;
  const bands = display.bands ?? (channels >= 3 ? [0, 1, 2] : [0]);
  const bandNames = Array.from({ length: channels }, (_, i) => `Band ${i + 1}`);
  const setBand = (slot: number, band: number) => {
    const next = [...bands];
    next[slot] = band;
    void cmd.setBands(next);
  };
  return (
    <section className="panel" data-testid="display-panel">
      <h2>Display</h2>
      {info.depth > 1 && (
        <div className="row wrap" data-testid="layout-controls">
          <span className="muted">Views</span>
          <span className="segmented">
            <button className={`small${layout === 'single' ? ' active' : ''}`} data-testid="layout-single" onClick={() => void setLayout('single')} title={tip('One view (toggle)', 'layout')}>
              Single
            </button>
            <button className={`small${layout === 'mpr' ? ' active' : ''}`} data-testid="layout-mpr" onClick={() => void setLayout('mpr')} title={tip('Axial, coronal and sagittal side by side, linked by the crosshair (toggle)', 'layout')}>
              MPR 1×3
            </button>
          </span>
          {layout === 'mpr' && (
            <button
              className={`small${tool === 'crosshair' ? ' active' : ''}`}
              data-testid="tool-crosshair"
              onClick={() => apply(op.toolPicked(tool === 'crosshair' ? 'pan' : 'crosshair'))}
              title={tip('Crosshair: click or drag in a view to move the other views there', 'crosshair')}
            >
              ✛ Crosshair
            </button>
          )}
          {layout === 'mpr' && (
            <span className="muted num" data-testid="crosshair-readout" title="Linked cursor (voxel x, y, z)">
              {crosshair.x}, {crosshair.y}, {crosshair.z}
            </span>
          )}
        </div>
      )}
      <div className="row wrap">
        <span className="muted" title="Right-drag on the image: horizontal = width, vertical = level">
          W/L
        </span>
        <span className="num" data-testid="window-readout">
          {shown ? `${trim(shown.width)} / ${trim(shown.center)}` : '—'}
        </span>
        {windows && windows.presets.length > 0 && (
          <select
            data-testid="wl-preset"
            value={active?.id ?? ''}
            onChange={(e) => void applyPreset(e.target.value)}
            aria-label="Window preset"
            title={windows.valueUnit === 'HU' ? 'Window presets (W/L in HU); the one shown is active' : 'Window presets from the whole volume (signal units have no fixed window); the one shown is active'}
          >
            <option value="" disabled>
              Custom
            </option>
            {windows.presets.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
                {p.kind === 'modality' ? ` ${trim(p.width)}/${trim(p.center)}` : ''}
              </option>
            ))}
          </select>
        )}
        <button className="small" data-testid="wl-reset" onClick={() => void autoWindow()} title={autoLabel ? `Auto: ${autoLabel}` : 'Back to the file\'s window, or a 0.5–99.5 percentile stretch'}>
          Auto
        </button>
      </div>
      {windows?.bandStats && <BandStatsTable stats={windows.bandStats} shownBands={bands} stretched={!display.window} />}
      {lacksGeometry(info) && <PixelSizeField />}
      {channels > 1 && (
        <div className="bands" data-testid="band-controls">
          <div className="row">
            <span className="muted">Bands</span>
            <select
              data-testid="band-mode"
              value={bands.length === 3 ? 'rgb' : 'grey'}
              onChange={(e) => void cmd.setBands(e.target.value === 'rgb' ? [0, Math.min(1, channels - 1), Math.min(2, channels - 1)] : [bands[0] ?? 0])}
              aria-label="Band mode"
            >
              <option value="rgb">RGB composite</option>
              <option value="grey">Single band</option>
            </select>
          </div>
          <div className="row">
            {bands.map((b, slot) => (
              <select key={slot} data-testid={`band-${slot}`} value={b} onChange={(e) => setBand(slot, Number(e.target.value))} aria-label={bands.length === 3 ? ['Red', 'Green', 'Blue'][slot] : 'Band'}>
                {bandNames.map((n, i) => (
                  <option key={i} value={i}>
                    {bands.length === 3 ? `${'RGB'[slot]}: ` : ''}
                    {n}
                  </option>
                ))}
              </select>
            ))}
          </div>
        </div>
      )}
    </section>
  );
}

/** Pixel size of an image without geometry (PNG, JPEG): lengths and areas then read in mm/mm² or m/m², not px. */
function PixelSizeField() {
  const image = useStore((s) => s.image);
  const given = image ? userPixelSize(image.info) : null;
  const [text, setText] = useState(given ? plain(given.value, 6) : '');
  const [unit, setUnit] = useState<PixelSize['unit']>(given?.unit ?? 'mm');
  // Another image (or a restored session) brings its own value.
  const handle = image?.handle;
  const givenValue = given?.value;
  const givenUnit = given?.unit;
  useEffect(() => {
    setText(givenValue !== undefined ? plain(givenValue, 6) : '');
    if (givenUnit) setUnit(givenUnit);
  }, [handle, givenValue, givenUnit]);
  const commit = (value: string, u: PixelSize['unit']) => {
    const v = Number(value);
    setPixelSize(value.trim() !== '' && Number.isFinite(v) && v > 0 ? { value: v, unit: u } : null);
  };
  return (
    <div className="row wrap pixel-size" data-testid="pixel-size">
      <label className="row" title="This image has no geometry: give the length of one pixel side to measure in mm or m (kept in the saved session)">
        <span className="muted">Pixel size</span>
        <input
          type="number"
          data-testid="pixel-size-value"
          min={0}
          step="any"
          placeholder="unknown"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            commit(e.target.value, unit);
          }}
          aria-label="Pixel size"
        />
      </label>
      <select
        data-testid="pixel-size-unit"
        value={unit}
        onChange={(e) => {
          const u = e.target.value === 'm' ? 'm' : 'mm';
          setUnit(u);
          commit(text, u);
        }}
        aria-label="Pixel size unit"
      >
        <option value="mm">mm per pixel</option>
        <option value="m">m per pixel</option>
      </select>
    </div>
  );
}
