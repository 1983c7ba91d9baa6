// Keyboard shortcuts: one table, used by the global key handler and by tooltips ("Brush (B)"), so what a
// tooltip promises is what the key does.
import { apply, getState } from './state/store';
import * as op from './state/operations';
import * as cmd from './state/commands';
import * as files from './files/commands';
import { viewerActions } from './viewer/actions';
import * as views from './viewer/mpr';
import * as shapes from './tools/gestures';
import * as ai from './tools/ai';

export interface Shortcut {
  /** Shown in tooltips. */
  keys: string;
  match(e: KeyboardEvent): boolean;
  run(): void;
}

const plain = (e: KeyboardEvent) => !e.ctrlKey && !e.metaKey && !e.altKey;
const key = (k: string) => (e: KeyboardEvent) => plain(e) && e.key.toLowerCase() === k;
const mod = (e: KeyboardEvent) => e.ctrlKey || e.metaKey;
// e.code, not e.key: Alt+letter types other characters on some layouts (macOS Option).
const alt = (e: KeyboardEvent, k: string) => e.altKey && !e.ctrlKey && !e.metaKey && e.code === `Key${k.toUpperCase()}`;

export const SHORTCUTS = {
  pan: { keys: 'V', match: key('v'), run: () => apply(op.toolPicked('pan')) },
  brush: { keys: 'B', match: key('b'), run: () => apply(op.toolPicked('brush')) },
  eraser: { keys: 'E', match: key('e'), run: () => apply(op.toolPicked('eraser')) },
  polygon: { keys: 'P', match: key('p'), run: () => apply(op.toolPicked('polygon')) },
  lasso: { keys: 'L', match: key('l'), run: () => apply(op.toolPicked('lasso')) },
  regionGrow: { keys: 'G', match: key('g'), run: () => apply(op.toolPicked('regionGrow')) },
  split: { keys: 'S', match: key('s'), run: () => apply(op.toolPicked('split')) },
  ruler: { keys: 'R', match: key('r'), run: () => apply(op.toolPicked('ruler')) },
  bidirectional: { keys: 'D', match: key('d'), run: () => apply(op.toolPicked('bidirectional')) },
  mergeInstances: { keys: 'M', match: key('m'), run: () => void shapes.mergeSelected() },
  fillHoles: { keys: 'K', match: key('k'), run: () => void shapes.fillHolesSelected() },
  closePolygon: { keys: 'Enter', match: (e) => plain(e) && e.key === 'Enter' && shapes.hasOpenPolygon(), run: () => void shapes.finishShape() },
  ai: { keys: 'A', match: key('a'), run: () => apply(op.toolPicked('ai')) },
  acceptAi: { keys: 'Enter', match: (e) => plain(e) && e.key === 'Enter' && getState().tool === 'ai' && ai.hasObject(), run: () => void ai.accept() },
  smaller: { keys: '[', match: (e) => plain(e) && e.key === '[', run: () => apply(op.brushSized(getState().brushDiameter / 1.25)) },
  larger: { keys: ']', match: (e) => plain(e) && e.key === ']', run: () => apply(op.brushSized(getState().brushDiameter * 1.25)) },
  undo: { keys: 'Ctrl+Z', match: (e) => mod(e) && !e.shiftKey && e.key.toLowerCase() === 'z', run: () => void cmd.undo() },
  redo: {
    keys: 'Ctrl+Shift+Z',
    match: (e) => mod(e) && ((e.shiftKey && e.key.toLowerCase() === 'z') || (!e.shiftKey && e.key.toLowerCase() === 'y')),
    run: () => void cmd.redo(),
  },
  outline: { keys: 'O', match: key('o'), run: () => apply(op.overlayStyled({ outline: !getState().overlay.outline })) },
  overlay: { keys: 'H', match: key('h'), run: () => apply(op.overlayStyled({ visible: !getState().overlay.visible })) },
  deleteInstance: { keys: 'Delete', match: (e) => plain(e) && (e.key === 'Delete' || e.key === 'Backspace'), run: () => void cmd.deleteSelected() },
  deselect: { keys: 'Esc', match: (e) => e.key === 'Escape', run: () => void (shapes.cancelShape() || ai.discard() || apply(op.instanceSelected(null))) },
  // The slice of the view under the pointer (MPR layout), else the axial slice.
  nextSlice: { keys: '↑ / PgUp', match: (e) => plain(e) && (e.key === 'ArrowUp' || e.key === 'PageUp'), run: () => void views.stepHovered(1) },
  prevSlice: { keys: '↓ / PgDn', match: (e) => plain(e) && (e.key === 'ArrowDown' || e.key === 'PageDown'), run: () => void views.stepHovered(-1) },
  layout: { keys: 'T', match: key('t'), run: () => void views.toggleLayout() },
  crosshair: { keys: 'C', match: key('c'), run: () => apply(op.toolPicked('crosshair')) },
  open: { keys: 'Ctrl+O', match: (e) => mod(e) && !e.shiftKey && !e.altKey && e.key.toLowerCase() === 'o', run: () => void cmd.openWithDialog() },
  openSession: { keys: 'Ctrl+Shift+O', match: (e) => mod(e) && e.shiftKey && e.key.toLowerCase() === 'o', run: () => void cmd.openSession() },
  saveSession: { keys: 'Ctrl+S', match: (e) => mod(e) && !e.shiftKey && e.key.toLowerCase() === 's', run: () => void cmd.saveSession() },
  exportMenu: {
    keys: 'Ctrl+E',
    match: (e) => mod(e) && !e.shiftKey && e.key.toLowerCase() === 'e',
    run: () => {
      if (getState().result) apply(op.exportMenuRequested());
    },
  },
  fit: { keys: 'F', match: key('f'), run: () => viewerActions.fit?.() },
  run: { keys: 'Ctrl+Enter', match: (e) => mod(e) && e.key === 'Enter', run: () => void cmd.runSegmentation() },
  openFolder: { keys: 'Ctrl+Alt+O', match: (e) => mod(e) && e.altKey && e.code === 'KeyO', run: () => void cmd.openFolderWithDialog() },
  recent: { keys: 'Alt+R', match: (e) => alt(e, 'r'), run: () => apply(op.recentMenuRequested()) },
  chooseSeries: { keys: 'Alt+S', match: (e) => alt(e, 's'), run: () => files.showSeriesChooser() },
  addModel: { keys: 'Alt+M', match: (e) => alt(e, 'm'), run: () => void files.addModel() },
} satisfies Record<string, Shortcut>;

/** "Brush (B)" */
export function tip(label: string, shortcut: keyof typeof SHORTCUTS): string {
  return `${label} (${SHORTCUTS[shortcut].keys})`;
}

/** True where keys mean text (a text field, a list that jumps by letter): shortcuts leave those alone. */
function isTyping(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  if (t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable) return true;
  return t instanceof HTMLInputElement && !['range', 'checkbox', 'radio', 'button'].includes(t.type);
}

/** The window-wide key handler. */
export function handleKey(e: KeyboardEvent): void {
  // The unsaved-work question is modal: it answers its own keys.
  if (isTyping(e.target) || getState().unsavedPrompt) return;
  for (const s of Object.values(SHORTCUTS) as Shortcut[]) {
    if (!s.match(e)) continue;
    e.preventDefault();
    s.run();
    return;
  }
}
