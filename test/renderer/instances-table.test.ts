// The instances table shared by the measurements panel (result held whole) and the paged table (windowed result):
// every column of columns.ts as a sortable header with its unit and a cell per row, the same test ids in both uses,
// the sort arrow, the selected rows, and headers the engine host cannot sort by marked as such.
import { describe, expect, it, vi } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { InstancesTable, type InstancesTableProps } from '../../renderer/measurements/InstancesTable';
import { columnsFor } from '../../renderer/measurements/columns';
import { serverSortKey } from '../../renderer/measurements/paging';
import type { InstancesDocument } from '../../preload/api';

const doc: InstancesDocument = {
  source: { file: 'fields.tif', format: 'geotiff', kind: 'geo', width: 100, height: 100, depth: 1 },
  classes: [
    { id: 1, name: 'field', color: '#00ff00', instanceCount: 2, pixelCount: 30, fraction: 0.003, areaM2: 300 },
    { id: 2, name: 'road', color: '#ff0000', instanceCount: 1, pixelCount: 5, fraction: 0.0005, areaM2: 50 },
  ],
  instances: [
    { id: 1, classId: 1, className: 'field', pixelCount: 20, bbox: [0, 0, 5, 4], centroidPx: [2, 2], areaM2: 200, meanIntensity: 81, meanProbability: 0.9 },
    { id: 2, classId: 1, className: 'field', pixelCount: 10, bbox: [9, 9, 5, 2], centroidPx: [11, 10], areaM2: 100, meanIntensity: 77, meanProbability: 0.62, edited: true },
    { id: 3, classId: 2, className: 'road', pixelCount: 5, bbox: [20, 0, 1, 5], centroidPx: [20, 2], areaM2: 50, meanIntensity: 140, meanProbability: 0.55 },
  ],
} as unknown as InstancesDocument;

const columns = columnsFor(doc, 'DN');
const base: InstancesTableProps = {
  columns,
  rows: doc.instances,
  classes: doc.classes,
  sort: { key: 'areaM2', dir: -1 },
  isSelected: (id) => id === 2,
  onRowClick: () => undefined,
  onSort: () => undefined,
};

/** The opening tag of the element with a test id. */
function tag(html: string, testId: string): string {
  return new RegExp(`<[a-z]+[^>]*data-testid="${testId}"[^>]*>`).exec(html)?.[0] ?? '';
}

/** Cell texts of one row, by data-col. */
function cells(html: string, id: number): Record<string, string> {
  const row = new RegExp(`<tr[^>]*data-testid="instance-row-${id}"[^>]*>(.*?)</tr>`).exec(html)?.[1] ?? '';
  return Object.fromEntries([...row.matchAll(/<td[^>]*data-col="([^"]+)"[^>]*>(.*?)<\/td>/g)].map((m) => [m[1]!, m[2]!.replace(/<!-- -->/g, '')]));
}

describe('instances table (whole and paged results)', () => {
  it('one sortable header per column with its unit, the sort arrow on the sorted one', () => {
    const html = renderToStaticMarkup(createElement(InstancesTable, base));
    expect(columns.length).toBeGreaterThan(3);
    for (const c of columns) {
      const th = tag(html, `sort-${c.key}`);
      expect(th, c.key).toContain('sortable');
      expect(th).toContain(`aria-sort="${c.key === 'areaM2' ? 'descending' : 'none'}"`);
    }
    expect(html).toMatch(/data-testid="sort-areaM2"[^>]*>Area ▼<br\/><span class="unit">m²<\/span>/);
    expect(tag(html, 'instances-table')).not.toContain('data-offset');
  });

  it('a row per record with a cell per column, the class swatch, the edit mark and the selection', () => {
    const html = renderToStaticMarkup(createElement(InstancesTable, base));
    expect([...html.matchAll(/data-testid="instance-row-(\d+)"/g)].map((m) => Number(m[1]))).toEqual([1, 2, 3]);
    const second = cells(html, 2);
    expect(Object.keys(second)).toEqual(columns.map((c) => c.key));
    expect(second.areaM2).toBe('100');
    expect(second.meanProbability).toBe('62');
    expect(second.id).toContain('Edited by hand');
    expect(cells(html, 1).id).not.toContain('Edited by hand');
    expect(cells(html, 3).className).toContain('background:#ff0000');
    expect(tag(html, 'instance-row-2')).toContain('aria-selected="true"');
    expect(tag(html, 'instance-row-1')).toContain('aria-selected="false"');
  });

  it('paged: the same markup, the page offset, and headers the host cannot sort by say so', () => {
    const whole = renderToStaticMarkup(createElement(InstancesTable, base));
    const paged = renderToStaticMarkup(
      createElement(InstancesTable, { ...base, offset: 200, sortable: (k) => serverSortKey(k, 'areaM2') !== null, unsortableNote: 'sorts by id, class, size or probability only' }),
    );
    expect(tag(paged, 'instances-table')).toContain('data-offset="200"');
    expect(cells(paged, 2)).toEqual(cells(whole, 2));
    const intensity = tag(paged, 'sort-meanIntensity');
    expect(intensity).not.toContain('sortable');
    expect(intensity).toContain('sorts by id, class, size or probability only');
    expect(tag(paged, 'sort-id')).toContain('sortable');
    expect(tag(paged, 'sort-areaM2')).toContain('sortable');
    expect(tag(paged, 'sort-meanProbability')).toContain('sortable');
  });

  it('a header click sorts only by a column the table may sort by', () => {
    // The click handler of a header, found through the element tree React would mount.
    const onSort = vi.fn();
    const el = InstancesTable({ ...base, onSort, sortable: (k) => k !== 'meanIntensity' });
    const headers: Array<{ props: { 'data-testid': string; onClick(): void } }> = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (!node || typeof node !== 'object' || !('props' in node)) return;
      const props = (node as { props: Record<string, unknown> }).props;
      if (typeof props['data-testid'] === 'string' && props['data-testid'].startsWith('sort-')) headers.push(node as (typeof headers)[number]);
      walk(props.children);
    };
    walk(el);
    expect(headers.map((h) => h.props['data-testid'])).toEqual(columns.map((c) => `sort-${c.key}`));
    for (const h of headers) h.props.onClick();
    expect(onSort.mock.calls.map((c) => c[0])).toEqual(columns.map((c) => c.key).filter((k) => k !== 'meanIntensity'));
  });
});
