// About and licences: the app's version and licence, the licence of every installed model's weights (with the
// non-commercial ones marked), and the third-party notices the build generated (scripts/third-party-notices.mjs).
// Everything comes through the contract: the texts by app:licenses, the models from the list the picker uses.
import { useEffect, useRef, useState } from 'react';
import type { AppInfo, LicenseTexts } from '../../preload/api';
import { useStore } from '../state/store';

export function AboutButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button className="about-button" data-testid="about-button" onClick={() => setOpen(true)} title="Version, licence, model licences and third-party notices">
        About
      </button>
      {open && <AboutDialog onClose={() => setOpen(false)} />}
    </>
  );
}

function AboutDialog({ onClose }: { onClose: () => void }) {
  const models = useStore((s) => s.models);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [texts, setTexts] = useState<LicenseTexts | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let live = true;
    Promise.all([window.delineate.appInfo(), window.delineate.licenses()])
      .then(([i, t]) => {
        if (!live) return;
        setInfo(i);
        setTexts(t);
      })
      .catch((err: unknown) => {
        if (live) setProblem(err instanceof Error ? err.message : String(err));
      });
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    box.current?.querySelector<HTMLButtonElement>('button')?.focus();
    const key = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      // Esc closes this dialog only; it must not also deselect or cancel in the viewer below.
      e.stopImmediatePropagation();
      onClose();
    };
    window.addEventListener('keydown', key, true);
    return () => window.removeEventListener('keydown', key, true);
  }, [onClose]);

  return (
    <div className="modal-backdrop" data-testid="about-backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div ref={box} className="modal about" role="dialog" aria-modal="true" aria-labelledby="about-title" data-testid="about-dialog">
        <h2 id="about-title">
          Delineate {info ? info.version : ''}
          <button className="small" data-testid="about-close" onClick={onClose} title="Close (Esc)">
            Close
          </button>
        </h2>
        {problem && <p className="banner-error" data-testid="about-problem">Could not read the licences: {problem}</p>}
        <h3>Licence</h3>
        <pre className="licence-text" data-testid="about-app-licence">
          {texts ? (texts.app ?? 'The licence file is missing from this copy (MIT licence, see package.json).') : 'Loading…'}
        </pre>
        <h3>Model licences</h3>
        <p className="muted">Model weights are not covered by the app&apos;s licence: each carries its own.</p>
        <table className="about-models" data-testid="about-models">
          <tbody>
            {models.map((m) => (
              <tr key={m.id} data-testid={`about-model-${m.id}`}>
                <td>{m.name}</td>
                <td>
                  {m.license}
                  {m.nonCommercial && (
                    <span className="badge-nc" data-testid={`about-model-nc-${m.id}`}>
                      non-commercial use only
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <h3>Third-party software</h3>
        <pre className="licence-text notices" data-testid="about-notices">
          {texts ? (texts.thirdParty ?? 'THIRD-PARTY-NOTICES.txt is missing from this copy (npm run notices writes it).') : 'Loading…'}
        </pre>
      </div>
    </div>
  );
}
