// Native dialogs through Electron, attached to the app window so they are modal to it.

import { dialog, type BrowserWindow } from 'electron';
import { IMAGE_FILTERS, type Dialogs } from './dialogs';

export function electronDialogs(getWindow: () => BrowserWindow | null): Dialogs {
  return {
    async openImage() {
      const win = getWindow();
      const options: Electron.OpenDialogOptions = { title: 'Open image', properties: ['openFile'], filters: IMAGE_FILTERS };
      const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
  };
}
