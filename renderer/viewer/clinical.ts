// What an opened image needs besides its pixels: the header over the views (patient, study, series: DICOM only),
// per-band statistics of 16-bit and float rasters (for the display panel), its window presets by modality (MR opens on the volume's 1-99 % window, not a per-slice stretch), the preset
// that matches the window shown, and the pixel size a person gives an image without geometry.
import type { ImageWindows, PixelSize, WindowPresetInfo } from '../../preload/api';
import { apply, getState } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';

const api = () => window.delineate;

/** Asks for the header and window presets of the open image (once per image; late answers for another are dropped). */
export async function loadImageExtras(handle: string): Promise<void> {
  const image = getState().image;
  if (!image || image.handle !== handle) return;
  const medical = image.info.kind === 'medical';
  // Other images ask only when they are 16-bit or float 2D rasters: their windows carry the per-band statistics.
  if (!medical && (image.info.dtype === 'uint8' || image.info.dtype === 'int8' || image.info.depth > 1)) return;
  const [patient, windows] = await Promise.all([medical ? api().patientHeader(handle).catch(() => null) : null, api().imageWindows(handle).catch(() => null)]);
  if (patient) apply(op.patientLoaded(handle, patient));
  if (!windows) return;
  apply(op.windowsLoaded(handle, windows));
  // Signal units (MR, PET, NIfTI) have no fixed window: they open on the volume's Auto window, which holds on
  // every slice (the engine's default stretches each slice by itself, so brightness jumps while scrolling).
  const st = getState();
  const auto = windows.presets.find((p) => p.id === windows.autoId);
  if (st.image?.handle === handle && st.display.window === null && windows.valueUnit !== 'HU' && auto) await cmd.setWindow({ center: auto.center, width: auto.width });
}

/** The preset the window shown matches (within 0.5 % of the image's value range), or null for a custom window. */
export function activePreset(windows: ImageWindows | null, shown: { center: number; width: number } | null | undefined): WindowPresetInfo | null {
  if (!windows || !shown) return null;
  const tolerance = Math.max(1e-6, 0.005 * Math.max(windows.rangeHigh - windows.rangeLow, 1e-6));
  return windows.presets.find((p) => Math.abs(p.center - shown.center) <= tolerance && Math.abs(p.width - shown.width) <= tolerance) ?? null;
}

export function applyPreset(id: string): Promise<void> {
  const w = getState().windows?.value.presets.find((p) => p.id === id);
  return w ? cmd.setWindow({ center: w.center, width: w.width }) : Promise.resolve();
}

/** Auto: the modality's automatic window (MR: 1-99 % of the volume; CT: the file's window), else the engine's stretch. */
export function autoWindow(): Promise<void> {
  const st = getState();
  const windows = st.windows && st.windows.handle === st.image?.handle ? st.windows.value : null;
  const auto = windows?.presets.find((p) => p.id === windows.autoId);
  return cmd.setWindow(auto ? { center: auto.center, width: auto.width } : null);
}

/** Sets (or with null clears) the pixel size of the open image, when it has no geometry of its own. */
export function setPixelSize(size: PixelSize | null): void {
  const image = getState().image;
  if (image) apply(op.pixelSizeSet(image.handle, size));
}
