// The single path every invoke takes after the transport's own sender check (Electron frame URL, or the
// test host's token): known channel -> validated arguments -> handler -> plain reply. Nothing thrown
// escapes: a malformed call from a renderer becomes an error message, never an exception in main.

import type { InvokeHandlers, IpcReply } from '../../preload/api';
import { isInvokeChannel, validateArgs } from './validate';

export type Dispatch = (channel: unknown, args: unknown[]) => Promise<IpcReply>;

export function createDispatch(handlers: InvokeHandlers, onError?: (channel: string, err: unknown) => void): Dispatch {
  return async (channel, args) => {
    if (!isInvokeChannel(channel)) return { ok: false, error: `unknown channel: ${String(channel).slice(0, 64)}` };
    try {
      const valid = validateArgs(channel, args);
      const handler = handlers[channel] as (...a: unknown[]) => Promise<unknown>;
      const value = await handler(...valid);
      return { ok: true, value };
    } catch (err) {
      onError?.(channel, err);
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  };
}
