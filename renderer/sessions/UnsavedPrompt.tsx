// The question asked before work that is not saved would be replaced (another file, folder, recent item, series or
// session) or the window closed: Save (as Save session does, then go on), Discard, or Cancel (everything stays,
// undo history included).
// Modal and keyboard-driven: focus starts on Save, Tab cycles the buttons, Enter presses the focused one, Esc cancels.
import { useEffect, useRef } from 'react';
import { useStore } from '../state/store';
import { answerUnsavedPrompt } from '../state/commands';

function list(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export function UnsavedPrompt() {
  const prompt = useStore((s) => s.unsavedPrompt);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!prompt) return;
    // Focus the first enabled button (Save, or Discard when there is nothing a session could hold).
    box.current?.querySelector<HTMLButtonElement>('button:not([disabled])')?.focus();
    const key = (e: KeyboardEvent) => {
      // Modal: no key reaches the viewer or the window's shortcuts while the question is open.
      e.stopImmediatePropagation();
      const buttons = [...(box.current?.querySelectorAll<HTMLButtonElement>('button:not([disabled])') ?? [])];
      if (e.key === 'Escape') {
        e.preventDefault();
        answerUnsavedPrompt('cancel');
      } else if (e.key === 'Tab' && buttons.length > 0) {
        e.preventDefault();
        const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
        const next = at < 0 ? 0 : (at + (e.shiftKey ? buttons.length - 1 : 1)) % buttons.length;
        buttons[next]!.focus();
      } else if ((e.key === 'Enter' || e.key === ' ') && e.target instanceof HTMLButtonElement && box.current?.contains(e.target)) {
        // The focused button's own click does it.
      } else {
        e.preventDefault();
      }
    };
    window.addEventListener('keydown', key, true);
    return () => window.removeEventListener('keydown', key, true);
  }, [prompt]);

  if (!prompt) return null;
  return (
    <div className="modal-backdrop" data-testid="unsaved-backdrop">
      <div ref={box} className="modal modal-narrow" role="alertdialog" aria-modal="true" aria-labelledby="unsaved-title" aria-describedby="unsaved-text" data-testid="unsaved-prompt">
        <h2 id="unsaved-title">Save your work on {prompt.imageName}?</h2>
        <p id="unsaved-text" data-testid="unsaved-text">
          Not saved: {list(prompt.unsaved)}. {prompt.action === 'close' ? 'Closing the window ends the image and its work.' : 'Opening something else replaces the image and its work.'}
          {prompt.canSave ? '' : ' A session needs a model result, so these cannot be saved as one.'}
        </p>
        <div className="modal-buttons">
          <button data-testid="unsaved-save" className="primary" disabled={!prompt.canSave} onClick={() => answerUnsavedPrompt('save')} title={prompt.action === 'close' ? 'Save the session (as Save session does), then close' : 'Save the session (as Save session does), then go on'}>
            Save...
          </button>
          <button data-testid="unsaved-discard" className="danger" onClick={() => answerUnsavedPrompt('discard')} title={prompt.action === 'close' ? 'Close without saving: the result, its edits and the measurements are lost' : 'Go on without saving: the result, its edits and the measurements are lost'}>
            {prompt.action === 'close' ? 'Close without saving' : 'Discard'}
          </button>
          <button data-testid="unsaved-cancel" onClick={() => answerUnsavedPrompt('cancel')} title="Keep everything as it is (Esc)">
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}
