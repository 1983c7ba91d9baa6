// Browser side of the test host (served as /bridge.js, loaded before the app bundle): defines
// window.delineate with the same DelineateApi shape as the Electron preload, over a token-guarded WebSocket.

import { EVENT_CHANNELS, type DelineateApi, type EventChannel, type EventChannels, type InvokeChannel, type InvokeChannels, type IpcReply } from '../../preload/api';
import { decodeFrame, encodeFrame, type WireCall } from './wire';

const token = new URLSearchParams(location.search).get('token') ?? '';
const socket = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
socket.binaryType = 'arraybuffer';
const opened = new Promise<void>((resolve, reject) => {
  socket.addEventListener('open', () => resolve());
  socket.addEventListener('error', () => reject(new Error('test host: connection refused')));
});
opened.catch(() => undefined);

const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
const listeners = new Map<string, Set<(payload: unknown) => void>>();
let nextId = 1;

socket.addEventListener('message', (e: MessageEvent<ArrayBuffer>) => {
  const msg = decodeFrame(new Uint8Array(e.data)) as { id?: number; reply?: IpcReply; event?: string; payload?: unknown };
  if (msg.id !== undefined && msg.reply) {
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (!p) return;
    if (msg.reply.ok) p.resolve(msg.reply.value);
    else p.reject(new Error(msg.reply.error));
  } else if (msg.event) {
    for (const l of listeners.get(msg.event) ?? []) l(msg.payload);
  }
});
socket.addEventListener('close', () => {
  for (const p of pending.values()) p.reject(new Error('test host: connection closed'));
  pending.clear();
});

async function invoke<C extends InvokeChannel>(channel: C, ...args: unknown[]): Promise<InvokeChannels[C]['result']> {
  await opened;
  const id = nextId++;
  const call: WireCall = { id, channel, args };
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    socket.send(encodeFrame(call));
  });
}

const api: DelineateApi = {
  appInfo: () => invoke('app:info'),
  licenses: () => invoke('app:licenses'),
  closeWindow: () => invoke('app:close-window'),
  openFileDialog: () => invoke('file:open-dialog'),
  openFolderDialog: () => invoke('file:open-folder-dialog'),
  // The host resolves the name through the drop table the test registered; no path crosses the socket.
  openDropped: (file: File) => invoke('file:open-dropped', file.name),
  closeFile: (handle) => invoke('file:close', handle),
  openSeries: (handle, seriesInstanceUid, options) => invoke('file:open-series', handle, seriesInstanceUid, options),
  listRecent: () => invoke('recent:list'),
  openRecent: (id) => invoke('recent:open', id),
  removeRecent: (id) => invoke('recent:remove', id),
  imageInfo: (handle) => invoke('image:info', handle),
  imageSlice: (request) => invoke('image:slice', request),
  imageTile: (request) => invoke('image:tile', request),
  imageWindows: (handle) => invoke('image:windows', handle),
  patientHeader: (handle) => invoke('image:patient', handle),
  pickFolder: () => invoke('folder:pick-dialog'),
  scanFolder: (jobId, handle) => invoke('folder:scan', jobId, handle),
  listModels: () => invoke('models:list'),
  addModel: () => invoke('models:add'),
  removeModel: (modelId) => invoke('models:remove', modelId),
  devicePlan: () => invoke('models:device'),
  modelCompatibility: (handle) => invoke('models:compatibility', handle),
  segment: (jobId, request) => invoke('segment:run', jobId, request),
  cancelJob: (jobId) => invoke('job:cancel', jobId),
  engineStatus: () => invoke('engine:status'),
  restartEngine: () => invoke('engine:restart'),
  probe: (request) => invoke('image:probe', request),
  resultSlice: (request) => invoke('result:slice', request),
  resultProbability: (request) => invoke('result:probability', request),
  resultTile: (request) => invoke('result:tile', request),
  resultProbabilityTile: (request) => invoke('result:probability-tile', request),
  resultInstances: (request) => invoke('result:instances', request),
  resultInstanceAt: (resultId, x, y, z) => invoke('result:instance-at', resultId, x, y, z),
  editResult: (resultId, operation) => invoke('result:edit', resultId, operation),
  undoEdit: (resultId) => invoke('result:undo', resultId),
  redoEdit: (resultId) => invoke('result:redo', resultId),
  saveSession: (request) => invoke('session:save', request),
  openSession: () => invoke('session:open'),
  listRecoverable: () => invoke('session:recover-list'),
  recoverSession: (sessionId) => invoke('session:recover', sessionId),
  discardRecoverable: (sessionId) => invoke('session:discard', sessionId),
  closeResult: (resultId) => invoke('result:close', resultId),
  exportResult: (request) => invoke('result:export', request),
  compare: (jobId, request) => invoke('compare:run', jobId, request),
  compareSlice: (request) => invoke('compare:slice', request),
  closeCompare: (compareId) => invoke('compare:close', compareId),
  compareTargets: (compareId, tracks) => invoke('compare:targets', compareId, tracks),
  exportCompareReport: (compareId, tracks, deidentify) => invoke('compare:export-report', compareId, tracks, deidentify),
  newResult: (handle, modelId) => invoke('result:new', handle, modelId),
  promptModels: () => invoke('prompt:models'),
  promptOpen: (handle, modelId) => invoke('prompt:open', handle, modelId),
  promptClick: (request) => invoke('prompt:click', request),
  promptBox: (request) => invoke('prompt:box', request),
  promptPropagate: (jobId, request) => invoke('prompt:propagate', jobId, request),
  promptClear: (promptId) => invoke('prompt:clear', promptId),
  promptClose: (promptId) => invoke('prompt:close', promptId),
  on<E extends EventChannel>(event: E, listener: (payload: EventChannels[E]) => void): () => void {
    if (!(EVENT_CHANNELS as readonly string[]).includes(event)) throw new Error(`unknown event: ${String(event)}`);
    const set = listeners.get(event) ?? new Set();
    listeners.set(event, set);
    const wrapped = (payload: unknown) => listener(payload as EventChannels[E]);
    set.add(wrapped);
    return () => {
      set.delete(wrapped);
    };
  },
};

Object.defineProperty(window, 'delineate', { value: Object.freeze(api), writable: false, configurable: false });
