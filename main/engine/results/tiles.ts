// Tiles and pages of a kept result, shared by the in-memory store and the disk-kept (windowed) store, so the
// renderer reads both through the same channels ('result:tile', 'result:probability-tile', 'result:instances').
import type { ResultInstancesRequest, ResultTileRequest } from '../../../preload/api';
import type { InstanceRecord } from '../../../preload/formats';
import { levelCount, tileRect } from '../render/tile';

/** Largest page 'result:instances' answers (the validator refuses more; the store checks again for other callers). */
export const MAX_INSTANCE_PAGE = 1000;

export interface ResultTileRect {
  /** Full-resolution rect covered. */
  x0: number;
  y0: number;
  w: number;
  h: number;
  /** Tile pixels. */
  outW: number;
  outH: number;
  /** Full-resolution pixels per tile pixel (2^level). */
  step: number;
}

/** The rect a result tile covers, by the same rule as image tiles (render/tile.ts); a RangeError outside the pyramid. */
export function resultTileRect(width: number, height: number, request: Pick<ResultTileRequest, 'level' | 'x' | 'y' | 'tileSize'>): ResultTileRect {
  const { level, x, y, tileSize } = request;
  if (!Number.isInteger(level) || level < 0 || level >= levelCount(width, height, tileSize)) throw new RangeError(`level ${level} is outside the result's pyramid`);
  const rect = Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 ? tileRect(width, height, level, x, y, tileSize) : null;
  if (!rect) throw new RangeError(`tile ${x},${y} is outside level ${level} of the result`);
  return { ...rect, step: 2 ** level };
}

/**
 * Nearest sample (each 2^level block's top-left pixel) of one plane into a tile: ids and labels must never be
 * averaged. `plane` is the row-major full-resolution slice (width `width`) or, with `origin`, a crop starting there.
 */
export function sampleTile<T extends Uint32Array | Uint8Array>(out: T, plane: ArrayLike<number>, planeWidth: number, rect: ResultTileRect, originX = 0, originY = 0, planeOffset = 0): T {
  const { x0, y0, outW, outH, step } = rect;
  for (let ty = 0; ty < outH; ty++) {
    const row = planeOffset + (y0 + ty * step - originY) * planeWidth;
    const o = ty * outW;
    for (let tx = 0; tx < outW; tx++) out[o + tx] = plane[row + x0 + tx * step - originX]!;
  }
  return out;
}

/** The physical size a record is sorted by: area (geo or mm²), else volume, else its pixel count. */
export function sizeOfRecord(rec: InstanceRecord): number {
  for (const key of ['areaM2', 'areaMm2', 'volumeMl', 'areaPx']) {
    const v = rec[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return rec.pixelCount;
}

function sortValue(rec: InstanceRecord, key: NonNullable<ResultInstancesRequest['sort']>['key']): number {
  switch (key) {
    case 'id':
      return rec.id;
    case 'area':
      return sizeOfRecord(rec);
    case 'class':
      return rec.classId;
    case 'meanProbability': {
      const p = rec.meanProbability;
      // Records without a model probability (edited, restored) sort below every probability.
      return typeof p === 'number' ? p : -1;
    }
  }
}

export function checkPage(request: Pick<ResultInstancesRequest, 'offset' | 'limit'>): void {
  if (!Number.isInteger(request.offset) || request.offset < 0) throw new RangeError(`page offset ${request.offset} is not a non-negative integer`);
  if (!Number.isInteger(request.limit) || request.limit < 1 || request.limit > MAX_INSTANCE_PAGE) throw new RangeError(`page limit ${request.limit} is outside 1..${MAX_INSTANCE_PAGE}`);
}

/** One page of records (filtered by class, sorted, ties by id ascending so pages never overlap). */
export function pageOf(records: readonly InstanceRecord[], request: Omit<ResultInstancesRequest, 'resultId'>): { total: number; instances: InstanceRecord[] } {
  checkPage(request);
  const filtered = request.classId === undefined ? records.slice() : records.filter((r) => r.classId === request.classId);
  const key = request.sort?.key ?? 'id';
  const sign = request.sort?.descending ? -1 : 1;
  filtered.sort((a, b) => sign * (sortValue(a, key) - sortValue(b, key)) || a.id - b.id);
  return { total: filtered.length, instances: filtered.slice(request.offset, request.offset + request.limit) };
}
