// Keyboard shortcuts: one table, used by the global key handler and by tooltips ("Brush (B)"), so what a
// tooltip promises is what the key does.
import { apply, getState } from './state/store';
import * as op from './state/operations';
import * as cmd from './state/commands';
import { viewerActions } from './viewer/actions';

export interface Shortcut {
  /** Shown in tooltips. */
  keys: string;
  match(e: KeyboardEvent): boolean;
  run(): void;
}

const plain = (e: KeyboardEvent) => !e.ctrlKey && !e.metaKey && !e.altKey;
const key = (k: string) => (e: KeyboardEvent) => plain(e) && e.key.toLowerCase() === k;
const mod = (e: KeyboardEvent) => e.ctrlKey || e.metaKey;

export const SHORTCUTS = {
  pan: { keys: 'V', match: key('v'), run: () => apply(op.toolPicked('pan')) },
  brush: { keys: 'B', match: key('b'), run: () => apply(op.toolPicked('brush')) },
  eraser: { keys: 'E', match: key('e'), run: () => apply(op.toolPicked('eraser')) },
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
  deselect: { keys: 'Esc', match: (e) => e.key === 'Escape', run: () => apply(op.instanceSelected(null)) },
  nextSlice: { keys: '↑ / PgUp', match: (e) => plain(e) && (e.key === 'ArrowUp' || e.key === 'PageUp'), run: () => void cmd.goToSlice(getState().z + 1) },
  prevSlice: { keys: '↓ / PgDn', match: (e) => plain(e) && (e.key === 'ArrowDown' || e.key === 'PageDown'), run: () => void cmd.goToSlice(getState().z - 1) },
  open: { keys: 'Ctrl+O', match: (e) => mod(e) && !e.shiftKey && e.key.toLowerCase() === 'o', run: () => void cmd.openWithDialog() },
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
  if (isTyping(e.target)) return;
  for (const s of Object.values(SHORTCUTS) as Shortcut[]) {
    if (!s.match(e)) continue;
    e.preventDefault();
    s.run();
    return;
  }
}
