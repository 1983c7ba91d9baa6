// Editing tools: the tool buttons and undo/redo for the toolbar, and the Edit panel (brush size in the image's
// unit, class of new objects, what a stroke or shape paints into, region-grow tolerance, delete/change class/fill
// holes of the selected object, merge of the objects picked with Shift/Ctrl-click).
import { apply, useStore } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';
import { tip } from '../shortcuts';
import type { EditOperationName } from '../../preload/api';
import { lengthUnit, plain, trim } from '../viewer/units';
import * as shapes from './gestures';
import type { Tool } from '../state/store';

/** What the current tool does to the objects, in one line. */
function targetHint(tool: Tool, selected: string | null): string {
  const into = selected ? `into ${selected}; Esc for a new object` : 'into a new object of the class above';
  switch (tool) {
    case 'eraser':
      return 'Eraser clears every object under it.';
    case 'polygon':
    case 'lasso':
      return `Fills ${into}. Shift/Ctrl-click objects (Select tool) to pick several for Merge.`;
    case 'regionGrow':
      return `Click a point: similar pixels around it go ${into}.`;
    case 'split':
      return selected ? `Draw a line across ${selected} to split it.` : 'Draw a line across an object to split it.';
    case 'ruler':
    case 'bidirectional':
      return 'Measurements are listed under Manual measurements.';
    case 'ai':
      return `Enter puts the AI outline ${into}.`;
    default:
      return selected ? `Brush paints into ${selected}; Esc to paint a new object.` : 'Brush grows the object it starts on, or paints a new one. Shift/Ctrl-click picks several objects.';
  }
}

const OP_LABEL: Record<EditOperationName, string> = {
  paintStroke: 'brush stroke',
  eraseStroke: 'eraser stroke',
  deleteInstance: 'delete object',
  setInstanceClass: 'change class',
  fillPolygon: 'polygon fill',
  erasePolygon: 'polygon erase',
  fillHoles: 'fill holes',
  splitInstance: 'split',
  mergeInstances: 'merge',
  regionGrow: 'region grow',
  acceptPrompt: 'AI object',
};

/** Tool buttons after the brush and eraser: [tool, label, tooltip] (shortcut keys come from shortcuts.ts). */
const SHAPE_BUTTONS = [
  ['polygon', 'Polygon', 'Polygon: click the corners, double-click or Enter to fill (Alt+first click: erase)'],
  ['lasso', 'Lasso', 'Lasso: drag around an area to fill it (Alt+drag: erase)'],
  ['regionGrow', 'Grow', 'Region grow: click a point; fills the similar pixels around it (tolerance in the Edit panel)'],
  ['split', 'Split', 'Split: drag a line across an object to cut it in two (on a volume, every slice of the object is cut along the same line)'],
  ['ai', 'AI', 'AI outline: click inside an object (Alt- or right-click to exclude, drag for a box); Enter accepts, Esc discards'],
] as const;
const MEASURE_BUTTONS = [
  ['ruler', 'Ruler', 'Ruler: drag to measure a length'],
  ['bidirectional', 'Bidirectional', 'Bidirectional (RECIST): drag the long axis, then move and click to set the perpendicular short axis'],
] as const;

export function ToolButtons() {
  const tool = useStore((s) => s.tool);
  const result = useStore((s) => s.result);
  const undoTop = result?.undoStack[result.undoStack.length - 1];
  const redoTop = result?.redoStack[result.redoStack.length - 1];
  return (
    <div className="tools" role="toolbar" aria-label="Tools">
      <button data-testid="tool-pan" className={tool === 'pan' ? 'active' : ''} onClick={() => apply(op.toolPicked('pan'))} title={tip('Pan and select (right-drag: window/level)', 'pan')}>
        Select
      </button>
      <button data-testid="tool-brush" className={tool === 'brush' ? 'active' : ''} onClick={() => apply(op.toolPicked('brush'))} title={tip('Brush: paint into the selected object, or a new one', 'brush')}>
        Brush
      </button>
      <button data-testid="tool-eraser" className={tool === 'eraser' ? 'active' : ''} onClick={() => apply(op.toolPicked('eraser'))} title={tip('Eraser', 'eraser')}>
        Eraser
      </button>
      {SHAPE_BUTTONS.map(([t, name, title]) => (
        <button key={t} data-testid={`tool-${t}`} className={tool === t ? 'active' : ''} onClick={() => apply(op.toolPicked(t))} title={tip(title, t)}>
          {name}
        </button>
      ))}
      <span className="sep" />
      {MEASURE_BUTTONS.map(([t, name, title]) => (
        <button key={t} data-testid={`tool-${t}`} className={tool === t ? 'active' : ''} onClick={() => apply(op.toolPicked(t))} title={tip(title, t)}>
          {name}
        </button>
      ))}
      <span className="sep" />
      <button data-testid="undo-button" disabled={!undoTop} onClick={() => void cmd.undo()} title={tip(undoTop ? `Undo ${OP_LABEL[undoTop]}` : 'Undo', 'undo')}>
        Undo
      </button>
      <button data-testid="redo-button" disabled={!redoTop} onClick={() => void cmd.redo()} title={tip(redoTop ? `Redo ${OP_LABEL[redoTop]}` : 'Redo', 'redo')}>
        Redo
      </button>
    </div>
  );
}

export function EditPanel() {
  const result = useStore((s) => s.result);
  const image = useStore((s) => s.image);
  const tool = useStore((s) => s.tool);
  const diameter = useStore((s) => s.brushDiameter);
  const activeClassId = useStore((s) => s.activeClassId);
  const selectedId = useStore((s) => s.selectedId);
  const extraSelectedIds = useStore((s) => s.extraSelectedIds);
  const growTolerance = useStore((s) => s.growTolerance);
  const growRadius = useStore((s) => s.growRadius);
  if (!result || !image) return null;
  const unit = lengthUnit(image.info).unit;
  const valueUnit = image.info.modality === 'CT' ? 'HU' : 'image values';
  const classes = result.document.classes;
  const selected = result.document.instances.find((r) => r.id === selectedId);
  const picked = [selectedId, ...extraSelectedIds].filter((id) => id !== null && result.document.instances.some((r) => r.id === id));
  return (
    <section className="panel" data-testid="edit-panel">
      <h2>Edit</h2>
      <label className="row" title={`Brush diameter in ${unit} (${'[ / ]'})`}>
        <span className="muted">Brush</span>
        <input
          type="number"
          data-testid="brush-size"
          min={0.1}
          step="any"
          value={plain(diameter)}
          onChange={(e) => {
            const v = Number(e.target.value);
            if (v > 0) apply(op.brushSized(v));
          }}
        />
        <span className="muted">{unit}</span>
        <span className="muted">New objects:</span>
        <select data-testid="active-class" value={activeClassId} onChange={(e) => apply(op.activeClassPicked(Number(e.target.value)))} aria-label="Class of new objects">
          {classes.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      {tool === 'regionGrow' && (
        <div className="row" data-testid="grow-settings">
          <label title={`Pixels within the clicked pixel's value ± this (${valueUnit}) join the region`}>
            <span className="muted">Tolerance</span>{' '}
            <input type="range" data-testid="grow-tolerance" min={0} max={500} step={1} value={Math.min(500, growTolerance)} onChange={(e) => apply(op.growToleranceSet(Number(e.target.value)))} />{' '}
            <span data-testid="grow-tolerance-value">{trim(growTolerance)}</span> <span className="muted">{valueUnit === 'HU' ? 'HU' : ''}</span>
          </label>
          <label title={`How far from the click the region may reach, in ${unit} (empty: a quarter of the image)`}>
            <span className="muted">Max radius</span>{' '}
            <input
              type="number"
              data-testid="grow-radius"
              min={0}
              step="any"
              placeholder={trim(shapes.growRadiusPx(image.info, 0) * Math.min(lengthUnit(image.info).perPxX, lengthUnit(image.info).perPxY))}
              value={growRadius > 0 ? plain(growRadius) : ''}
              onChange={(e) => apply(op.growRadiusSet(Number(e.target.value) || 0))}
            />{' '}
            <span className="muted">{unit}</span>
          </label>
        </div>
      )}
      <div className="muted" data-testid="paint-target">
        {targetHint(tool, selected ? `#${selected.id} (${selected.className})` : null)}
      </div>
      {picked.length >= 2 && (
        <div className="row">
          <span data-testid="merge-selection">Picked: {picked.map((id) => `#${String(id)}`).join(', ')}</span>
          <button data-testid="merge-instances" onClick={() => void shapes.mergeSelected()} title={tip('Merge the picked objects into the first (its class)', 'mergeInstances')}>
            Merge
          </button>
        </div>
      )}
      {selected && (
        <div className="row">
          <span>
            #{selected.id} {selected.className}
          </span>
          <select
            data-testid="selected-class"
            value={selected.classId}
            onChange={(e) => void cmd.edit({ op: 'setInstanceClass', instanceId: selected.id, classId: Number(e.target.value) })}
            aria-label="Class of the selected object"
          >
            {classes.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
          <button data-testid="fill-holes" onClick={() => void shapes.fillHolesSelected()} title={tip('Fill the holes the selected object encloses (every slice of it)', 'fillHoles')}>
            Fill holes
          </button>
          <button data-testid="delete-instance" className="danger" onClick={() => void cmd.deleteSelected()} title={tip('Delete the selected object', 'deleteInstance')}>
            Delete
          </button>
        </div>
      )}
    </section>
  );
}
