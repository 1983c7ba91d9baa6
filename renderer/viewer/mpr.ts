// What the user does with the views of a volume: switch layout (single / axial-coronal-sagittal), move the linked
// 3D cursor, scroll the slice of the view under the pointer, and pick the overlay's heat-map class.
import type { SliceAxis } from '../../preload/api';
import { apply, getState, type OverlayStyle, type ViewLayout } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';
import { loadPlane, refreshPlanes, refreshProbabilities } from './planes';
import { viewerActions } from './actions';

export async function setLayout(layout: ViewLayout): Promise<void> {
  apply(op.layoutChanged(layout));
  // Every view is a new size: fit them all once they are laid out.
  requestAnimationFrame(() => viewerActions.fit?.());
  if (layout === 'mpr') await Promise.all([refreshPlanes(), refreshProbabilities()]);
}

export function toggleLayout(): Promise<void> {
  const s = getState();
  if ((s.image?.info.depth ?? 1) < 2) return Promise.resolve();
  return setLayout(s.layout === 'mpr' ? 'single' : 'mpr');
}

/** Moves the linked cursor to voxel (x, y, z): every view whose slice it changes follows. */
export async function moveCrosshair(p: { x: number; y: number; z: number }): Promise<void> {
  const before = getState().crosshair;
  apply(op.crosshairMoved(p));
  const after = getState().crosshair;
  const tasks: Array<Promise<void>> = [];
  if (after.z !== before.z) tasks.push(cmd.loadSlice(), cmd.loadResultSlice());
  if (after.y !== before.y) tasks.push(loadPlane('coronal'));
  if (after.x !== before.x) tasks.push(loadPlane('sagittal'));
  await Promise.all(tasks);
}

/** Next/previous slice of one view (axial: z; coronal: the cursor's y; sagittal: its x). */
export function stepView(axis: SliceAxis, delta: number): Promise<void> {
  const s = getState();
  if (axis === 'axial') return cmd.goToSlice(s.z + delta);
  const c = s.crosshair;
  return moveCrosshair(axis === 'coronal' ? { ...c, y: c.y + delta } : { ...c, x: c.x + delta });
}

/** Arrow keys: the view under the pointer in the MPR layout, else the axial slice. */
export function stepHovered(delta: number): Promise<void> {
  const s = getState();
  return stepView(s.layout === 'mpr' ? (viewerActions.hovered ?? 'axial') : 'axial', delta);
}

export async function setOverlayMode(patch: Partial<Pick<OverlayStyle, 'mode' | 'probabilityClassId'>>): Promise<void> {
  apply(op.overlayStyled(patch));
  await refreshProbabilities();
}
