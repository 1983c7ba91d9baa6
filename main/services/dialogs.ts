// What the IPC handlers need from native dialogs; Electron's implementation is in dialogs-electron.ts and the
// test host injects its own, so handlers stay testable without Electron.

export interface Dialogs {
  /** Asks the user for an image file or DICOM folder; null when cancelled. */
  openImage(): Promise<string | null>;
}

/** File types offered in the open dialog (extensions without dots). */
export const IMAGE_FILTERS = [
  { name: 'Images', extensions: ['dcm', 'nii', 'gz', 'tif', 'tiff', 'png', 'jpg', 'jpeg'] },
  { name: 'All files', extensions: ['*'] },
];
