// Electron wiring of the contract: one ipcMain.handle per invoke channel. Each call must come from our own
// renderer page (the sender frame's file:// URL), then goes through the shared dispatch (validate, handle).

import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import { fileURLToPath } from 'node:url';
import { INVOKE_CHANNELS, type InvokeHandlers, type IpcReply } from '../../preload/api';
import { createDispatch } from './dispatch';

/** True when the invoke comes from the main frame of our bundled renderer, loaded from `rendererFile`. */
export function isTrustedSender(event: IpcMainInvokeEvent, rendererFile: string): boolean {
  const frame = event.senderFrame;
  // Top-level frame only: an iframe (none exist in our page) must never reach the handlers.
  if (!frame || frame.parent !== null) return false;
  try {
    const url = new URL(frame.url);
    return url.protocol === 'file:' && fileURLToPath(url) === rendererFile;
  } catch {
    return false;
  }
}

/** Registers every channel; returns a function that removes them (for window re-creation). */
export function registerIpc(handlers: InvokeHandlers, rendererFile: string): () => void {
  const dispatch = createDispatch(handlers, (channel, err) => {
    console.warn(`ipc ${channel}: ${err instanceof Error ? err.message : String(err)}`);
  });
  for (const channel of INVOKE_CHANNELS) {
    ipcMain.handle(channel, async (event, ...args: unknown[]): Promise<IpcReply> => {
      if (!isTrustedSender(event, rendererFile)) return { ok: false, error: 'refused: unexpected sender' };
      return dispatch(channel, args);
    });
  }
  return () => {
    for (const channel of INVOKE_CHANNELS) ipcMain.removeHandler(channel);
  };
}
