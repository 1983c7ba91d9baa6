// Display controls: the views of a volume (single, or axial/coronal/sagittal with the crosshair tool),
// window/level (numbers, CT presets, reset to the file's window or a percentile stretch) and band selection for
// multiband rasters (one band as grey, or three as an RGB composite).
import { apply, useStore } from '../state/store';
import * as cmd from '../state/commands';
import * as op from '../state/operations';
import { tip } from '../shortcuts';
import { setLayout } from './mpr';
import { trim } from './units';

/** CT presets as [name, width, level] (radiology convention: W/L in HU). */
export const CT_PRESETS: Array<[string, number, number]> = [
  ['Brain', 80, 40],
  ['Soft tissue', 400, 40],
  ['Lung', 1500, -600],
  ['Bone', 2500, 480],
  ['Liver', 150, 90],
];

export function DisplayPanel() {
  const image = useStore((s) => s.image);
  const slice = useStore((s) => s.slice);
  const display = useStore((s) => s.display);
  const layout = useStore((s) => s.layout);
  const tool = useStore((s) => s.tool);
  const crosshair = useStore((s) => s.crosshair);
  if (!image) return null;
  const info = image.info;
  const shown = display.window ?? slice?.window;
  const medical = info.kind === 'medical';
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
        {medical && (
          <select
            data-testid="wl-preset"
            value=""
            onChange={(e) => {
              const p = CT_PRESETS.find(([name]) => name === e.target.value);
              if (p) void cmd.setWindow({ width: p[1], center: p[2] });
            }}
            aria-label="Window preset"
            title="CT window presets (W/L in HU)"
          >
            <option value="">Preset…</option>
            {CT_PRESETS.map(([name, w, l]) => (
              <option key={name} value={name}>
                {name} {w}/{l}
              </option>
            ))}
          </select>
        )}
        <button className="small" data-testid="wl-reset" onClick={() => void cmd.setWindow(null)} title="Back to the file's window, or a 0.5–99.5 percentile stretch">
          Auto
        </button>
      </div>
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
