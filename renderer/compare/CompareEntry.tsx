// Ways into the Compare view: the "Compare..." toolbar button (with the choice of what to compare the open image
// with: an image, segmented with the chosen model first, or a saved session with its result) and the banner that
// offers it when a second date of the same patient or place replaces the open image.
import { useRef } from 'react';
import { useDismiss } from '../ui/useDismiss';
import { useStore } from '../state/store';
import * as c from './commands';

export function CompareButton() {
  const hasImage = useStore((s) => s.image !== null);
  // Plain pictures have no geometry to put two dates on one grid.
  const picture = useStore((s) => s.image?.info.kind === 'image');
  const phase = c.useCompare((s) => s.phase);
  const root = useRef<HTMLDivElement>(null);
  const open = phase === 'choose';
  useDismiss(open, c.cancelChoice, root);
  if (!hasImage) return null;
  return (
    <div className="menu-anchor" ref={root}>
      <button
        data-testid="compare-button"
        disabled={phase === 'running' || picture}
        aria-expanded={open}
        onClick={() => (open ? c.cancelChoice() : c.askCompare())}
        title={picture ? 'Compare needs medical images or georeferenced maps (a picture has no geometry)' : 'Compare this image with another date of the same patient or place'}
      >
        Compare...
      </button>
      {open && <CompareChooser />}
    </div>
  );
}

function CompareChooser() {
  const name = useStore((s) => s.image?.name ?? '');
  const hasResult = useStore((s) => s.result !== null && s.result.handle === s.image?.handle);
  return (
    <div className="menu compare-chooser" role="menu" data-testid="compare-chooser">
      <p className="hint">
        Compare {name}
        {hasResult ? ' (its result as it stands)' : ' (segmented with the chosen model)'} with:
      </p>
      <button role="menuitem" data-testid="compare-with-image" onClick={() => void c.compareWithImage()}>
        Another image... (segmented with the chosen model)
      </button>
      <button role="menuitem" data-testid="compare-with-session" onClick={() => void c.compareWithSession()}>
        A saved session... (its result)
      </button>
    </div>
  );
}

export function CompareOfferBanner() {
  const offer = c.useOffer();
  const phase = c.useCompare((s) => s.phase);
  if (!offer || phase === 'running' || phase === 'shown') return null;
  return (
    <div className="banner banner-recover" role="status" data-testid="compare-offer">
      <span>Compare with {offer.previous.name}?</span>
      <span className="banner-actions">
        <button data-testid="compare-offer-accept" onClick={() => void c.acceptOffer()}>
          Compare
        </button>
        <button data-testid="compare-offer-dismiss" onClick={() => c.dismissOffer()}>
          Not now
        </button>
      </span>
    </div>
  );
}
