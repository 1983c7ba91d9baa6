// Viewer actions other parts of the UI trigger (the Fit button, the F key): the mounted viewer registers them.
import type { TileStats } from './tiles';

export const viewerActions: {
  fit: (() => void) | null;
  /** Pans by screen (CSS) pixels and draws at once; returns the draw's milliseconds (benchmark, tests). */
  panBy: ((dx: number, dy: number) => number) | null;
  /** The tile layer's counters (what was requested, drawn, cached). */
  tileStats: TileStats | null;
} = { fit: null, panBy: null, tileStats: null };

/** For tests and the viewer benchmark in the page, as __delineateState is for the state. */
declare global {
  interface Window {
    __delineateViewer?: typeof viewerActions;
  }
}
window.__delineateViewer = viewerActions;
