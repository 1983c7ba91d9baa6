// The instances table of the measurements panel: sortable column headers and one row per object. Both the table of
// a result held whole (MeasurementsPanel) and the paged table of a windowed one (PagedInstances) draw it, so a
// column added in columns.ts shows in both with the same markup and test ids. It reads no store (callers pass the
// sort and selection in), so it renders outside the app too.
import type { MouseEvent, ReactNode, RefObject } from 'react';
import type { ClassRecord, InstanceRecord } from '../../preload/api';
import type { SortState } from '../state/store';
import type { Column } from './columns';

export interface InstancesTableProps {
  columns: Column[];
  rows: InstanceRecord[];
  /** The document's classes: a row's swatch colour. */
  classes: ClassRecord[];
  sort: SortState;
  isSelected(id: number): boolean;
  onRowClick(record: InstanceRecord, e: MouseEvent<HTMLTableRowElement>): void;
  /** A click on a sortable header (the store's sortChanged: a second click on the same column reverses). */
  onSort(key: string): void;
  /** Columns a click may sort by (all when absent); a paged result sorts only by what the engine host can. */
  sortable?(key: string): boolean;
  /** Why a column does not sort, in its tooltip. */
  unsortableNote?: string;
  /** The first row's position in the whole list (paged tables). */
  offset?: number;
  /** The scrolling wrapper, for bringing a selected row into view. */
  wrapRef?: RefObject<HTMLDivElement | null>;
  /** Under the table (a note that rows were left out). */
  footer?: ReactNode;
}

export function InstancesTable({ columns, rows, classes, sort, isSelected, onRowClick, onSort, sortable = () => true, unsortableNote, offset, wrapRef, footer }: InstancesTableProps) {
  return (
    <div className="table-wrap" ref={wrapRef}>
      <table className="instances" data-testid="instances-table" data-offset={offset}>
        <thead>
          <tr>
            {columns.map((c) => {
              const canSort = sortable(c.key);
              return (
                <th
                  key={c.key}
                  className={[c.numeric ? 'num' : '', canSort ? 'sortable' : ''].filter((s) => s !== '').join(' ')}
                  title={canSort ? `${c.title} — click to sort` : `${c.title} (${unsortableNote ?? 'does not sort'})`}
                  data-testid={`sort-${c.key}`}
                  aria-sort={sort.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}
                  onClick={() => canSort && onSort(c.key)}
                >
                  {c.label}
                  {sort.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
                  <br />
                  <span className="unit">{c.unit ?? '\u00a0'}</span>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const selected = isSelected(r.id);
            return (
              <tr key={r.id} data-testid={`instance-row-${r.id}`} aria-selected={selected} className={selected ? 'selected' : ''} onClick={(e) => onRowClick(r, e)}>
                {columns.map((c) => (
                  <td key={c.key} className={c.numeric ? 'num' : ''} data-col={c.key} title={c.cellTitle?.(r)}>
                    {c.key === 'className' && <span className="swatch" style={{ background: classes.find((k) => k.id === r.classId)?.color ?? '#888' }} />}
                    {c.format(c.value(r))}
                    {c.key === 'id' && r.edited === true ? <span title="Edited by hand">✎</span> : null}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      {footer}
    </div>
  );
}
