// Argument guards for every invoke channel, derived from the contract: the table below must name a guard per
// argument of every channel or it does not compile. Anything else (wrong type, extra keys, extra arguments)
// is refused with a message that says which argument and why.

import { RESULT_EXPORT_FORMATS, type CompareRequest, type CompareSliceRequest, type ExportRequest, type SaveSessionRequest, type SessionMeasurement, type ExportMeasurement, type SessionView, type InvokeChannel, InvokeChannels, ProbeRequest, ResultInstancesRequest, ResultProbabilityRequest, ResultProbabilityTileRequest, ResultSliceRequest, ResultTileRequest, SegmentRequest, SliceRequest, TileRequest, TileSize } from '../../preload/api';
import type { PromptBoxRequest, PromptClickRequest, PromptPropagateRequest } from '../../preload/api';
import { HANDLE_PATTERN } from '../services/files';
import { RECENT_ID_PATTERN } from '../services/recent';
// The guard kit and the edit operations' guards live in the engine, which checks a session file's edits with them.
import { ValidationError, arrayOf, bool, fail, num, object, oneOf, pair, str, type Guard } from '../engine/validate/guards';
import { coordinate, editOperation, sliceIndex } from '../engine/validate/edits';

export { ValidationError, arrayOf, bool, num, object, oneOf, str, type Guard };

// ---------------------------------------------------------------- contract guards

/** A handle the registry issued has this shape; a path never does, so it is refused before any lookup. */
export const handle = str({ maxLength: 64, pattern: HANDLE_PATTERN, what: 'a file handle (open the file first; paths are not accepted)' });
/** Job ids come from the renderer (so it can subscribe to progress before the call returns). */
export const jobId = str({ maxLength: 64, pattern: /^[A-Za-z0-9_-]+$/, what: 'a job id of letters, digits, _ and -' });

const sliceAxis = oneOf(['axial', 'coronal', 'sagittal'] as const);

const sliceRequest: Guard<SliceRequest> = object(
  { handle, z: num({ min: 0, max: 1_000_000, integer: true }), maxSize: num({ min: 1, max: 16384, integer: true }) },
  {
    axis: sliceAxis,
    window: object({ center: num(), width: num({ min: 0 }) }),
    bands: arrayOf(num({ min: 0, max: 65535, integer: true }), { min: 1, max: 3 }),
  },
);

const tileSize: Guard<TileSize> = (v, at) => {
  if (v !== 256 && v !== 512) throw new ValidationError(`${at}: expected 256 or 512`);
  return v;
};

/** Which pyramid tile, for image and result tiles alike: level 0..24 (2^24 px per tile pixel is beyond any raster), column/row bounded like pixel indices. */
const tilePositionFields = {
  level: num({ min: 0, max: 24, integer: true }),
  x: num({ min: 0, max: 1_000_000, integer: true }),
  y: num({ min: 0, max: 1_000_000, integer: true }),
  tileSize,
  z: num({ min: 0, max: 1_000_000, integer: true }),
};
const tileRequest: Guard<TileRequest> = object(
  { handle, ...tilePositionFields },
  {
    window: object({ center: num(), width: num({ min: 0 }) }),
    bandWindows: arrayOf(object({ center: num(), width: num({ min: 0 }) }), { min: 1, max: 3 }),
    bands: arrayOf(num({ min: 0, max: 65535, integer: true }), { min: 1, max: 3 }),
  },
);

/**
 * An installed model's id (manifest ids: letters, digits, ".", "_", "-"). Never a path or a file name: the engine
 * would otherwise resolve "/x/manifest.json" or "m.onnx" as a model file. handlers.ts also checks it is installed.
 */
export const modelId = str({ maxLength: 128, pattern: /^(?!.*\.(onnx|json)$)[A-Za-z0-9][A-Za-z0-9._-]*$/i, what: 'an installed model id (not a path)' });

const segmentRequest: Guard<SegmentRequest> = object(
  { handle, modelId },
  { device: oneOf(['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const), overlap: num({ min: 0, max: 0.9 }), modelPostprocess: bool() },
);

/** Results the engine host keeps are named r_<letters/digits>. */
export const resultId = str({ maxLength: 64, pattern: /^r_[A-Za-z0-9]+$/, what: 'a result id' });

const probeRequest: Guard<ProbeRequest> = object({
  handle,
  x: num({ min: 0, max: 1_000_000, integer: true }),
  y: num({ min: 0, max: 1_000_000, integer: true }),
  z: num({ min: 0, max: 1_000_000, integer: true }),
});

const resultSliceRequest: Guard<ResultSliceRequest> = object(
  {
    resultId,
    z: num({ min: 0, max: 1_000_000, integer: true }),
    maxSize: num({ min: 1, max: 16384, integer: true }),
  },
  { axis: sliceAxis },
);

const resultProbabilityRequest: Guard<ResultProbabilityRequest> = object(
  {
    resultId,
    classId: num({ min: 0, max: 65534, integer: true }),
    z: num({ min: 0, max: 1_000_000, integer: true }),
    maxSize: num({ min: 1, max: 16384, integer: true }),
  },
  { axis: sliceAxis },
);

const resultTileFields = { resultId, ...tilePositionFields };

const resultTileRequest: Guard<ResultTileRequest> = object(resultTileFields);

const resultProbabilityTileRequest: Guard<ResultProbabilityTileRequest> = object({ ...resultTileFields, classId: num({ min: 0, max: 65534, integer: true }) });

const resultInstancesRequest: Guard<ResultInstancesRequest> = object(
  {
    resultId,
    offset: num({ min: 0, max: 1_000_000_000, integer: true }),
    // A page, not the whole table: large results hold millions of records.
    limit: num({ min: 1, max: 1000, integer: true }),
  },
  {
    sort: object({ key: oneOf(['id', 'area', 'class', 'meanProbability'] as const) }, { descending: bool() }),
    classId: num({ min: 0, max: 65534, integer: true }),
  },
);



/** A DICOM UID (SeriesInstanceUID): digits in dot-separated components, at most 64 characters (PS3.5 9.1). */
export const seriesUid = str({ maxLength: 70, pattern: /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+(#[1-9][0-9]{0,4})?$/, what: 'a DICOM series UID (digits and dots; #n for its n-th volume)' });
/** Recent-file ids are issued by main (services/recent.ts); never a path. */
export const recentId = str({ maxLength: 32, pattern: RECENT_ID_PATTERN, what: 'a recent-file id (not a path)' });

/** Autosaved sessions are named by the engine host: letters, digits, _ and -. Never a path. */
export const sessionId = str({ maxLength: 64, pattern: /^[A-Za-z0-9_-]+$/, what: 'a session id (not a path)' });

const sessionMeasurement: Guard<SessionMeasurement> = (v, at) => {
  const m = object({ z: sliceIndex, kind: oneOf(['ruler', 'bidirectional'] as const), points: arrayOf(pair(coordinate), { min: 2, max: 4 }) })(v, at);
  const want = m.kind === 'ruler' ? 2 : 4;
  if (m.points.length !== want) fail(`${at}.points`, `${want} points for a ${m.kind}`, m.points);
  return m;
};
const sessionView: Guard<SessionView> = object(
  {},
  {
    z: num({ min: 0, max: 1_000_000, integer: true }),
    window: object({ center: num(), width: num({ min: 0 }) }),
    measurements: arrayOf(sessionMeasurement, { max: 10_000 }),
    pixelSize: object({ value: num({ min: 1e-9, max: 1e9 }), unit: oneOf(['mm', 'm'] as const) }),
  },
);
const saveSessionRequest: Guard<SaveSessionRequest> = object({ handle, resultId, view: sessionView });
const exportMeasurement: Guard<ExportMeasurement> = (v, at) => {
  const { id, ...rest } = object({ id: num({ min: 1, max: 1e9, integer: true }), z: sliceIndex, kind: oneOf(['ruler', 'bidirectional'] as const), points: arrayOf(pair(coordinate), { min: 2, max: 4 }) })(v, at);
  return { ...sessionMeasurement(rest, at), id };
};
const exportRequest: Guard<ExportRequest> = object(
  { handle, resultId, format: oneOf(RESULT_EXPORT_FORMATS) },
  {
    z: num({ min: 0, max: 1_000_000, integer: true }),
    deidentify: bool(),
    measurements: arrayOf(exportMeasurement, { max: 10_000 }),
    pixelSize: object({ value: num({ min: 1e-9, max: 1e9 }), unit: oneOf(['mm', 'm'] as const) }),
  },
);

/** Comparisons the engine host keeps are named c_<letters/digits>. */
export const compareId = str({ maxLength: 64, pattern: /^c_[A-Za-z0-9]+$/, what: 'a comparison id' });
/** At most this many dates in one comparison (the views, tables and memory are sized for a handful). */
const MAX_COMPARE_DATES = 16;
const compareDate = str({ maxLength: 10, pattern: /^\d{4}-?\d{2}(-?\d{2})?$/, what: 'a date YYYY-MM-DD' });
const resultIdOrNull: Guard<string | null> = (v, at) => (v === null ? null : resultId(v, at));
const compareRequest: Guard<CompareRequest> = (v, at) => {
  const r = object(
    { handles: arrayOf(handle, { min: 2, max: MAX_COMPARE_DATES }) },
    {
      resultIds: arrayOf(resultIdOrNull, { min: 2, max: MAX_COMPARE_DATES }),
      model: modelId,
      register: oneOf(['rigid', 'affine', 'none'] as const),
      dates: arrayOf(compareDate, { min: 2, max: MAX_COMPARE_DATES }),
    },
  )(v, at);
  if (new Set(r.handles).size !== r.handles.length) throw new ValidationError(`${at}.handles: expected distinct images`);
  if (r.resultIds && r.resultIds.length !== r.handles.length) throw new ValidationError(`${at}.resultIds: expected one per handle (${r.handles.length})`);
  if (r.dates && r.dates.length !== r.handles.length) throw new ValidationError(`${at}.dates: expected one per handle (${r.handles.length})`);
  return r;
};
/** Track ids chosen as targets (the engine says why a choice breaks the RECIST rules), or null for compare's own. */
const targetTracks: Guard<number[] | null> = (v, at) => (v === null ? null : arrayOf(num({ min: 1, max: 1_000_000, integer: true }), { max: 64 })(v, at));
const compareSliceRequest: Guard<CompareSliceRequest> = object(
  {
    compareId,
    timepoint: num({ min: 0, max: MAX_COMPARE_DATES - 1, integer: true }),
    z: num({ min: 0, max: 1_000_000, integer: true }),
    maxSize: num({ min: 1, max: 16384, integer: true }),
  },
  { window: object({ center: num(), width: num({ min: 0 }) }) },
);

/** Prompt sessions the engine host keeps are named p_<letters/digits>. */
export const promptId = str({ maxLength: 64, pattern: /^p_[A-Za-z0-9]+$/, what: 'a prompt id' });
const pixelIndex = num({ min: 0, max: 1_000_000, integer: true });
const promptClickRequest: Guard<PromptClickRequest> = object({ promptId, z: sliceIndex, x: pixelIndex, y: pixelIndex, positive: bool() });
const promptBoxRequest: Guard<PromptBoxRequest> = object({ promptId, z: sliceIndex, x0: pixelIndex, y0: pixelIndex, x1: pixelIndex, y1: pixelIndex });
const promptPropagateRequest: Guard<PromptPropagateRequest> = object({ promptId, z: sliceIndex });

function nullable<T>(guard: Guard<T>): Guard<T | null> {
  return (v, at) => (v === null ? null : guard(v, at));
}

type ArgGuards<A extends unknown[]> = { [K in keyof A]: Guard<A[K]> };

/** One guard per argument of every channel; `satisfies` makes a new channel without guards a compile error. */
export const VALIDATORS = {
  'app:info': [],
  'app:licenses': [],
  'app:close-window': [],
  'file:open-dialog': [],
  'file:open-folder-dialog': [],
  'file:open-dropped': [str({ maxLength: 32768, what: 'a dropped file' })],
  'file:close': [handle],
  'file:open-series': [handle, seriesUid, object({}, { allowGaps: bool() })],
  'recent:list': [],
  'recent:open': [recentId],
  'recent:remove': [recentId],
  'image:info': [handle],
  'image:slice': [sliceRequest],
  'image:tile': [tileRequest],
  'image:windows': [handle],
  'image:patient': [handle],
  'folder:pick-dialog': [],
  'folder:scan': [jobId, handle],
  'models:list': [],
  'models:add': [],
  'models:remove': [modelId],
  'models:device': [],
  'models:compatibility': [handle],
  'segment:run': [jobId, segmentRequest],
  'job:cancel': [jobId],
  'engine:status': [],
  'engine:restart': [],
  'image:probe': [probeRequest],
  'result:slice': [resultSliceRequest],
  'result:probability': [resultProbabilityRequest],
  'result:tile': [resultTileRequest],
  'result:probability-tile': [resultProbabilityTileRequest],
  'result:instances': [resultInstancesRequest],
  'result:instance-at': [resultId, pixelIndex, pixelIndex, pixelIndex],
  'result:edit': [resultId, editOperation],
  'result:undo': [resultId],
  'result:redo': [resultId],
  'session:save': [saveSessionRequest],
  'session:open': [],
  'session:recover-list': [],
  'session:recover': [sessionId],
  'session:discard': [sessionId],
  'result:close': [resultId],
  'result:export': [exportRequest],
  'result:new': [handle, nullable(modelId)],
  'prompt:models': [],
  'prompt:open': [handle, nullable(modelId)],
  'prompt:click': [promptClickRequest],
  'prompt:box': [promptBoxRequest],
  'prompt:propagate': [jobId, promptPropagateRequest],
  'prompt:clear': [promptId],
  'prompt:close': [promptId],
  'compare:run': [jobId, compareRequest],
  'compare:slice': [compareSliceRequest],
  'compare:close': [compareId],
  'compare:targets': [compareId, targetTracks],
  'compare:export-report': [compareId, targetTracks, bool()],
} satisfies { [C in InvokeChannel]: ArgGuards<InvokeChannels[C]['args']> };

export function isInvokeChannel(channel: unknown): channel is InvokeChannel {
  return typeof channel === 'string' && Object.prototype.hasOwnProperty.call(VALIDATORS, channel);
}

/** Validates the arguments of one invoke; returns them typed or throws ValidationError. */
export function validateArgs<C extends InvokeChannel>(channel: C, args: unknown[]): InvokeChannels[C]['args'] {
  const guards = VALIDATORS[channel] as readonly Guard<unknown>[];
  if (args.length !== guards.length) {
    throw new ValidationError(`${channel}: expected ${guards.length} argument(s), got ${args.length}`);
  }
  return guards.map((g, i) => g(args[i], `${channel} argument ${i + 1}`)) as InvokeChannels[C]['args'];
}
