// Overlay controls and legend: show/hide, opacity, outline-only, colour by class or instance, and one row per
// class with its colour, name, count and a visibility toggle.
import { apply, useStore } from '../state/store';
import * as op from '../state/operations';
import { tip } from '../shortcuts';

export function OverlayPanel() {
  const result = useStore((s) => s.result);
  const overlay = useStore((s) => s.overlay);
  if (!result) return null;
  const classes = result.document.classes;
  return (
    <section className="panel" data-testid="overlay-panel">
      <h2>Overlay</h2>
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
                <span className="muted num">{c.instanceCount}</span>
              </label>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
