// Native dialogs through Electron, attached to the app window so they are modal to it.

import { app, dialog, type BrowserWindow } from 'electron';
import { join } from 'node:path';
import { IMAGE_FILTERS, MODEL_FILTERS, SESSION_FILTERS, type Dialogs } from './dialogs';

export function electronDialogs(getWindow: () => BrowserWindow | null): Dialogs {
  return {
    async openImage() {
      const win = getWindow();
      const options: Electron.OpenDialogOptions = { title: 'Open image', properties: ['openFile'], filters: IMAGE_FILTERS };
      const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    async openFolder() {
      const win = getWindow();
      const options: Electron.OpenDialogOptions = { title: 'Open folder', properties: ['openDirectory'] };
      const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    async openSession() {
      const win = getWindow();
      const options: Electron.OpenDialogOptions = { title: 'Open session', properties: ['openFile'], filters: SESSION_FILTERS };
      const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    async openModel() {
      const win = getWindow();
      const options: Electron.OpenDialogOptions = { title: 'Add model', properties: ['openFile'], filters: MODEL_FILTERS };
      const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    async saveFile(defaultName, filters) {
      const win = getWindow();
      const options: Electron.SaveDialogOptions = {
        title: 'Save',
        defaultPath: join(app.getPath('documents'), defaultName),
        filters: [...filters, { name: 'All files', extensions: ['*'] }],
        properties: ['showOverwriteConfirmation', 'createDirectory'],
      };
      const result = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
      return result.canceled || !result.filePath ? null : result.filePath;
    },
  };
}
