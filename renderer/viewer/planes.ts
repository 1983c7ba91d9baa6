// Fetching what the coronal and sagittal views (MPR layout) and the probability heat-map show: image slices
// with the axial view's window, instance maps, and one class's probability per view. Latest request wins per view.
// Only the store and the contract here (commands.ts calls in, so nothing here may import commands.ts).
import type { SliceAxis } from '../../preload/api';
import { apply, getState } from '../state/store';
import * as op from '../state/operations';

/** Longest side of coronal/sagittal previews (three views share the screen). */
export const PLANE_MAX = 1024;
/** As commands.PREVIEW_MAX: the axial heat-map lines up with the axial instance map. */
const AXIAL_MAX = 2048;

export type PlaneAxis = 'coronal' | 'sagittal';
export const PLANE_AXES: PlaneAxis[] = ['coronal', 'sagittal'];

const api = () => window.delineate;

function report(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (/engine host (stopped|restarted)/.test(message)) return;
  apply(op.errorShown(message));
}

/** Serial, latest wins (as commands.coalesced): a call while one runs asks for one more run afterwards. */
function latest(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await task();
        } catch (err) {
          report(err);
        }
      } while (again);
    })().finally(() => {
      running = null;
    });
    return running;
  };
}

const mprShown = (): boolean => {
  const s = getState();
  return s.layout === 'mpr' && (s.image?.info.depth ?? 1) > 1;
};

function planeImageLoader(axis: PlaneAxis): () => Promise<void> {
  return latest(async () => {
    if (!mprShown()) return;
    const s = getState();
    const image = s.image!;
    const index = op.planeIndex(s, axis);
    // One window for all views: the user's, else the one the axial slice was shown with.
    const window = s.display.window ?? s.slice?.window;
    const request = { handle: image.handle, z: index, axis, maxSize: PLANE_MAX, ...(window ? { window } : {}), ...(s.display.bands ? { bands: s.display.bands } : {}) };
    apply(op.planeSliceLoaded(image.handle, axis, index, await api().imageSlice(request)));
  });
}

function probabilityLoader(axis: SliceAxis): () => Promise<void> {
  return latest(async () => {
    const s = getState();
    const { result, overlay } = s;
    const shown = axis === 'axial' || mprShown();
    if (!result || !result.probabilities || overlay.mode !== 'probability' || !shown) {
      if ((axis === 'axial' ? s.probability : s.planes[axis].probability) !== null) apply(op.probabilityLoaded(axis, null));
      return;
    }
    const index = op.planeIndex(s, axis);
    const request = { resultId: result.resultId, classId: overlay.probabilityClassId, z: index, maxSize: axis === 'axial' ? AXIAL_MAX : PLANE_MAX, ...(axis !== 'axial' ? { axis } : {}) };
    apply(op.probabilityLoaded(axis, await api().resultProbability(request)));
  });
}

function planeResultLoader(axis: PlaneAxis): () => Promise<void> {
  return latest(async () => {
    const { result } = getState();
    if (!result || !mprShown()) return;
    const index = op.planeIndex(getState(), axis);
    apply(op.planeResultLoaded(axis, await api().resultSlice({ resultId: result.resultId, z: index, axis, maxSize: PLANE_MAX })));
    await loadProbability(axis);
  });
}

const imageLoaders = { coronal: planeImageLoader('coronal'), sagittal: planeImageLoader('sagittal') };
const resultLoaders = { coronal: planeResultLoader('coronal'), sagittal: planeResultLoader('sagittal') };
const probabilityLoaders = { axial: probabilityLoader('axial'), coronal: probabilityLoader('coronal'), sagittal: probabilityLoader('sagittal') };

export const loadPlaneImage = (axis: PlaneAxis): Promise<void> => imageLoaders[axis]();
export const loadPlaneResult = (axis: PlaneAxis): Promise<void> => resultLoaders[axis]();
export const loadProbability = (axis: SliceAxis): Promise<void> => probabilityLoaders[axis]();

/** A coronal or sagittal view's slice changed: its image, map and heat-map. */
export async function loadPlane(axis: PlaneAxis): Promise<void> {
  await Promise.all([loadPlaneImage(axis), loadPlaneResult(axis)]);
}

/** Both planes' images (after a window, band or image change). */
export async function refreshPlaneImages(): Promise<void> {
  await Promise.all(PLANE_AXES.map(loadPlaneImage));
}

/** Both planes' maps (after a result arrived or an edit). */
export async function refreshPlaneResults(): Promise<void> {
  await Promise.all(PLANE_AXES.map(loadPlaneResult));
}

export async function refreshPlanes(): Promise<void> {
  await Promise.all(PLANE_AXES.map(loadPlane));
}

/** Every shown view's heat-map (after the mode or class changed). */
export async function refreshProbabilities(): Promise<void> {
  await Promise.all((['axial', 'coronal', 'sagittal'] as const).map(loadProbability));
}
