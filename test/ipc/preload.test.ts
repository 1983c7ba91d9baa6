// The preload exposes exactly one method per invoke channel plus `on`, unwraps replies into plain errors and
// resolves dropped files to paths itself. Electron is mocked: only its surface the preload touches.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENT_CHANNELS, METHOD_OF_CHANNEL, type DelineateApi } from '../../preload/api';

const exposed: Record<string, unknown> = {};
const invoke = vi.fn<(channel: string, ...args: unknown[]) => Promise<unknown>>();
const listeners = new Map<string, (e: unknown, payload: unknown) => void>();

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
  ipcRenderer: {
    invoke: (channel: string, ...args: unknown[]) => invoke(channel, ...args),
    on: (channel: string, l: (e: unknown, payload: unknown) => void) => listeners.set(channel, l),
    removeListener: (channel: string) => listeners.delete(channel),
  },
  webUtils: { getPathForFile: (file: { name: string }) => (file.name === 'memory.png' ? '' : `/picked/${file.name}`) },
}));

let api: DelineateApi;
beforeAll(async () => {
  await import('../../preload/index');
  api = exposed.delineate as DelineateApi;
});

describe('preload', () => {
  it('exposes exactly one method per invoke channel, plus on()', () => {
    expect(Object.keys(api).sort()).toEqual([...Object.values(METHOD_OF_CHANNEL), 'on'].sort());
  });

  it('unwraps ok replies and turns error replies into plain Errors', async () => {
    invoke.mockResolvedValueOnce({ ok: true, value: { state: 'ready', restarts: 0 } });
    await expect(api.engineStatus()).resolves.toEqual({ state: 'ready', restarts: 0 });
    expect(invoke).toHaveBeenLastCalledWith('engine:status');
    invoke.mockResolvedValueOnce({ ok: false, error: 'unknown file handle: open the file first' });
    await expect(api.imageInfo('h_x')).rejects.toThrow(/^unknown file handle: open the file first$/);
    expect(invoke).toHaveBeenLastCalledWith('image:info', 'h_x');
  });

  it('resolves a dropped File to its path inside the preload, and refuses in-memory files', async () => {
    invoke.mockResolvedValueOnce({ ok: true, value: { handle: 'h_1' } });
    await api.openDropped({ name: 'scan.png' } as File);
    expect(invoke).toHaveBeenLastCalledWith('file:open-dropped', '/picked/scan.png');
    await expect(api.openDropped({ name: 'memory.png' } as File)).rejects.toThrow(/only files from disk/);
  });

  it('subscribes to event channels only, and hands the page the payload only', () => {
    const got: unknown[] = [];
    const off = api.on('engine:state', (s) => got.push(s));
    listeners.get('engine:state')?.({ sender: 'secret' }, { state: 'crashed', restarts: 0 });
    expect(got).toEqual([{ state: 'crashed', restarts: 0 }]);
    off();
    expect(listeners.has('engine:state')).toBe(false);
    expect(() => api.on('file:open-dialog' as (typeof EVENT_CHANNELS)[number], () => undefined)).toThrow(/unknown event/);
  });
});
