// The measurements table of a windowed result pages through 'result:instances' instead of sorting a document in
// the renderer: which table columns the engine host can sort by, and the page arithmetic shown under the table.
import type { ResultInstancesRequest } from '../../preload/api';

/** Rows per page of a windowed result's table. */
export const PAGE_ROWS = 100;

export type ServerSortKey = NonNullable<ResultInstancesRequest['sort']>['key'];

/**
 * The host's sort key of a table column: id, class, the size column (whatever its unit: all size fields order as
 * the pixel count does) and mean probability. Null for a column the host cannot sort by.
 */
export function serverSortKey(columnKey: string, sizeKey: string): ServerSortKey | null {
  if (columnKey === 'id') return 'id';
  if (columnKey === 'className') return 'class';
  if (columnKey === 'meanProbability') return 'meanProbability';
  if (columnKey === sizeKey || columnKey === 'pixelCount') return 'area';
  return null;
}

/** The request for page `offset` of a result, sorted by a table column (id when the host cannot sort by it). */
export function pageRequest(
  resultId: string,
  offset: number,
  sort: { key: string; dir: 1 | -1 },
  sizeKey: string,
  classId: number | null,
): ResultInstancesRequest {
  const key = serverSortKey(sort.key, sizeKey) ?? 'id';
  return {
    resultId,
    offset: Math.max(0, Math.floor(offset)),
    limit: PAGE_ROWS,
    sort: { key, ...(sort.dir === -1 && key === serverSortKey(sort.key, sizeKey) ? { descending: true } : {}) },
    ...(classId !== null ? { classId } : {}),
  };
}

/** "1–100 of 12,345" style bounds of the page shown: first and last row (1-based) and the total. */
export function pageBounds(offset: number, rows: number, total: number): { first: number; last: number; total: number } {
  if (total <= 0 || rows <= 0) return { first: 0, last: 0, total: Math.max(0, total) };
  return { first: offset + 1, last: Math.min(total, offset + rows), total };
}

/** Offset of the previous and next page (null at either end). */
export function neighbourPages(offset: number, total: number): { previous: number | null; next: number | null } {
  return {
    previous: offset > 0 ? Math.max(0, offset - PAGE_ROWS) : null,
    next: offset + PAGE_ROWS < total ? offset + PAGE_ROWS : null,
  };
}
