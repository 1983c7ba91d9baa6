// Overlay controls and legend: show/hide, opacity, outline-only, colour by class or instance, and one row per
// class with its colour, name, count and a visibility toggle; or the model's probability of one class as a
// heat-map (inferno colours, legend bar 0..1) when the engine host kept the probability maps.
import { apply, useStore } from '../state/store';
import * as op from '../state/operations';
import { tip } from '../shortcuts';
import { setOverlayMode } from '../viewer/mpr';
import { heatGradientCss } from './colors';
import { trim } from '../viewer/units';

const HEAT_GRADIENT = heatGradientCss();

export function OverlayPanel() {
  const result = useStore((s) => s.result);
  const overlay = useStore((s) => s.overlay);
  if (!result) return null;
  const classes = result.document.classes;
  return (
    <section className="panel" data-testid="overlay-panel">
      <h2>Overlay</h2>
      <div className="row wrap">
        <span className="segmented" role="radiogroup" aria-label="Overlay shows">
          <button className={`small${overlay.mode === 'labels' ? ' active' : ''}`} data-testid="overlay-mode-labels" onClick={() => void setOverlayMode({ mode: 'labels' })} title="Objects coloured by class or instance">
            Labels
          </button>
          <button
            className={`small${overlay.mode === 'probability' ? ' active' : ''}`}
            data-testid="overlay-mode-probability"
            disabled={!result.probabilities}
            onClick={() => void setOverlayMode({ mode: 'probability', probabilityClassId: classes.some((c) => c.id === overlay.probabilityClassId) ? overlay.probabilityClassId : (classes[0]?.id ?? 1) })}
            title={result.probabilities ? "The model's probability of one class, as a heat-map" : 'Unavailable for this result: the probability maps were too large to keep (or the result was restored from a session). Run the model again on a smaller image.'}
          >
            Probability
          </button>
        </span>
        {!result.probabilities && (
          <span className="muted" data-testid="probability-unavailable">
            heat-map unavailable for this result
          </span>
        )}
      </div>
      {overlay.mode === 'probability' && result.probabilities && (
        <div className="heat-legend" data-testid="probability-legend">
          <select
            data-testid="probability-class"
            aria-label="Class shown as a heat-map"
            value={overlay.probabilityClassId}
            onChange={(e) => void setOverlayMode({ probabilityClassId: Number(e.target.value) })}
          >
            {classes.map((c) => (
              <option key={c.id} value={c.id}>
                P({c.name})
              </option>
            ))}
          </select>
          <div className="heat-bar" style={{ background: HEAT_GRADIENT }} title="Probability 0 (dark, clear) to 1 (bright); edited pixels are left clear" />
          <div className="heat-ticks muted">
            <span>0</span>
            <span>0.5</span>
            <span>1</span>
          </div>
        </div>
      )}
      <div className="row wrap">
        <label title={tip('Show the overlay', 'overlay')}>
          <input type="checkbox" data-testid="overlay-visible" checked={overlay.visible} onChange={(e) => apply(op.overlayStyled({ visible: e.target.checked }))} /> Show
        </label>
        <label title={tip('Outlines only', 'outline')}>
          <input type="checkbox" data-testid="overlay-outline" checked={overlay.outline} onChange={(e) => apply(op.overlayStyled({ outline: e.target.checked }))} /> Outline
        </label>
        <label title="Colour each object differently instead of by class">
          <input
            type="checkbox"
            data-testid="overlay-by-instance"
            checked={overlay.colorBy === 'instance'}
            onChange={(e) => apply(op.overlayStyled({ colorBy: e.target.checked ? 'instance' : 'class' }))}
          />{' '}
          Per object
        </label>
      </div>
      <label className="row" title="Fill opacity">
        <span className="muted">Opacity</span>
        <input
          type="range"
          data-testid="overlay-opacity"
          min={0}
          max={100}
          value={Math.round(overlay.opacity * 100)}
          onChange={(e) => apply(op.overlayStyled({ opacity: Number(e.target.value) / 100 }))}
        />
        <span className="num">{Math.round(overlay.opacity * 100)}%</span>
      </label>
      <ul className="legend" data-testid="legend">
        {classes.map((c) => {
          const hidden = overlay.hiddenClasses.includes(c.id);
          return (
            <li key={c.id} className={hidden ? 'off' : ''}>
              <label title={hidden ? `Show ${c.name}` : `Hide ${c.name}`}>
                <input type="checkbox" data-testid={`class-toggle-${c.id}`} checked={!hidden} onChange={() => apply(op.classToggled(c.id))} />
                <span className="swatch" data-testid={`legend-swatch-${c.id}`} style={{ background: c.color }} />
                <span className="legend-name">{c.name}</span>
                <span className="muted num" title={`${trim(c.instanceCount)} object${c.instanceCount === 1 ? '' : 's'}`}>
                  {trim(c.instanceCount)}
                </span>
              </label>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
