// The instances table of a windowed result (too many objects to send whole): one page of records at a time from
// 'result:instances', sorted by the column clicked (the engine host sorts all of them), filtered to one class, with
// the total. A row click selects the object and centres it (its record, bbox included, comes with the selection).
import { useEffect, useMemo, useState } from 'react';
import type { InstanceRecord, InstancesDocument } from '../../preload/api';
import { apply, getState, useStore } from '../state/store';
import * as op from '../state/operations';
import { columnsFor, summarySizeField } from './columns';
import { trim } from '../viewer/units';
import { InstancesTable } from './InstancesTable';
import { neighbourPages, pageBounds, pageRequest, serverSortKey } from './paging';

interface Page {
  key: string;
  total: number;
  offset: number;
  instances: InstanceRecord[];
}

export function PagedInstances({ doc, resultId, revision, valueUnit }: { doc: InstancesDocument; resultId: string; revision: number; valueUnit: string }) {
  const sort = useStore((s) => s.sort);
  const selectedId = useStore((s) => s.selectedId);
  const [offset, setOffset] = useState(0);
  const [classId, setClassId] = useState<number | null>(null);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  const sizeKey = summarySizeField(doc)[0];
  const request = useMemo(() => pageRequest(resultId, offset, sort, sizeKey, classId), [resultId, offset, sort, sizeKey, classId]);
  const key = `${JSON.stringify(request)}@${revision}`;

  // Another sort, class or result starts at the first page.
  useEffect(() => setOffset(0), [resultId, sort, classId]);
  useEffect(() => {
    let live = true;
    window.delineate
      .resultInstances(request)
      .then((p) => {
        if (!live) return;
        setPage({ key, total: p.total, offset: p.offset, instances: p.instances });
        setError(null);
      })
      .catch((err: unknown) => {
        if (live) setError(err instanceof Error ? err.message : String(err));
      });
    return () => {
      live = false;
    };
  }, [request, key]);

  // The columns a page's records have (the document's classes say the size unit).
  const columns = useMemo(() => columnsFor({ ...doc, instances: page?.instances ?? [] }, valueUnit), [doc, page, valueUnit]);
  const bounds = page ? pageBounds(page.offset, page.instances.length, page.total) : null;
  const pages = page ? neighbourPages(page.offset, page.total) : { previous: null, next: null };
  const loading = page === null || page.key !== key;
  return (
    <>
      <div className="pager" data-testid="instances-pager">
        <select data-testid="class-filter" value={classId ?? ''} onChange={(e) => setClassId(e.target.value === '' ? null : Number(e.target.value))} title="Show the objects of one class">
          <option value="">All classes</option>
          {doc.classes.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
        <button className="small" data-testid="page-prev" disabled={pages.previous === null} onClick={() => pages.previous !== null && setOffset(pages.previous)} title="Previous page">
          ‹
        </button>
        <span className="muted" data-testid="page-range">
          {bounds ? `${trim(bounds.first)}–${trim(bounds.last)} of ` : '… of '}
          <span data-testid="instances-total">{bounds ? trim(bounds.total) : '…'}</span> objects
        </span>
        <button className="small" data-testid="page-next" disabled={pages.next === null} onClick={() => pages.next !== null && setOffset(pages.next)} title="Next page">
          ›
        </button>
        {loading && <span className="muted small-note">loading…</span>}
      </div>
      {error && <p className="muted">Could not read the objects: {error}</p>}
      <InstancesTable
        columns={columns}
        rows={page?.instances ?? []}
        classes={doc.classes}
        sort={sort}
        onSort={(key) => apply(op.sortChanged(key))}
        isSelected={(id) => id === selectedId}
        onRowClick={(r) => getState().result?.resultId === resultId && apply(op.instanceRecordSelected(r, true))}
        sortable={(k) => serverSortKey(k, sizeKey) !== null}
        unsortableNote="this large result sorts by id, class, size or probability only"
        offset={page?.offset ?? 0}
      />
    </>
  );
}
