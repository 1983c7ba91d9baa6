// Viewer actions other parts of the UI trigger (the Fit button, the F key): the mounted viewers register them.
import type { SliceAxis } from '../../preload/api';
import type { TileStats } from './tiles';
import type { OverlayTileStats } from './overlayTiles';

/** Each mounted view's fit, by axis (the MPR layout mounts three). */
const fits = new Map<SliceAxis, () => void>();

export const viewerActions: {
  /** Fits every mounted view. */
  fit: (() => void) | null;
  /** Pans the axial view by screen (CSS) pixels and draws at once; returns the draw's milliseconds (benchmark, tests). */
  panBy: ((dx: number, dy: number) => number) | null;
  /** The axial view's tile layer counters (what was requested, drawn, cached). */
  tileStats: TileStats | null;
  /** The axial view's overlay tile counters (result tiles asked for, drawn, painted). */
  overlayTileStats: OverlayTileStats | null;
  /** Centres the axial view on image point (x, y) at s screen px per image px, on whole screen pixels (tests, benchmark). */
  centreOn: ((x: number, y: number, s: number) => void) | null;
  /** The view under the pointer (arrow keys scroll it), null when none. */
  hovered: SliceAxis | null;
  registerFit(axis: SliceAxis, fit: () => void): () => void;
} = {
  fit: null,
  panBy: null,
  tileStats: null,
  overlayTileStats: null,
  centreOn: null,
  hovered: null,
  registerFit(axis, fit) {
    fits.set(axis, fit);
    viewerActions.fit = () => fits.forEach((f) => f());
    return () => {
      if (fits.get(axis) === fit) fits.delete(axis);
      if (fits.size === 0) viewerActions.fit = null;
    };
  },
};

/** For tests and the viewer benchmark in the page, as __delineateState is for the state. */
declare global {
  interface Window {
    __delineateViewer?: typeof viewerActions;
  }
}
window.__delineateViewer = viewerActions;
