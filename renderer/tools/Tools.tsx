// Editing tools: the tool buttons and undo/redo for the toolbar, and the Edit panel (brush size in the image's
// unit, class of new objects, what a stroke paints into, delete/change class of the selected object).
import { apply, useStore } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';
import { tip } from '../shortcuts';
import type { EditOperationName } from '../../preload/api';
import { lengthUnit, trim } from '../viewer/units';

const OP_LABEL: Record<EditOperationName, string> = {
  paintStroke: 'brush stroke',
  eraseStroke: 'eraser stroke',
  deleteInstance: 'delete object',
  setInstanceClass: 'change class',
};

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
  if (!result || !image) return null;
  const unit = lengthUnit(image.info).unit;
  const classes = result.document.classes;
  const selected = result.document.instances.find((r) => r.id === selectedId);
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
          value={trim(diameter)}
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
      <div className="muted" data-testid="paint-target">
        {tool === 'eraser'
          ? 'Eraser clears every object under it.'
          : selected
            ? `Brush paints into #${selected.id} (${selected.className}); Esc to paint a new object.`
            : 'Brush grows the object it starts on, or paints a new one.'}
      </div>
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
          <button data-testid="delete-instance" className="danger" onClick={() => void cmd.deleteSelected()} title={tip('Delete the selected object', 'deleteInstance')}>
            Delete
          </button>
        </div>
      )}
    </section>
  );
}
