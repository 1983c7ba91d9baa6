// Measurements: per-class summary with a bar chart of total area/volume (plain SVG), and a sortable table of
// instances; a row click selects and centres the object, an image click selects (and scrolls to) its row.
// Shift/Ctrl-click on rows picks several objects (Merge). Copy as CSV puts every instance with the instances.json field names (units in the names) on the clipboard.
// A windowed result (kept on disk, its document without instances) shows its objects page by page (PagedInstances).
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ClassRecord } from '../../preload/api';
import { apply, useStore } from '../state/store';
import * as op from '../state/operations';
import { classTotal, columnsFor, instancesCsv, intensityUnit, sizeRange, sortInstances, summarySizeField, withPixelSize } from './columns';
import { trim, userPixelSize } from '../viewer/units';
import { copyText } from './clipboard';
import { PagedInstances } from './PagedInstances';
import { InstancesTable } from './InstancesTable';

/** Rows drawn at most; a result with more (thousands of buildings) says so and keeps sorting over all. */
const MAX_ROWS = 1000;

function ClassChart({ classes, sizeKey, label, unit }: { classes: ClassRecord[]; sizeKey: string; label: string; unit: string }) {
  const rows = classes.filter((c) => c.instanceCount > 0 || c.pixelCount > 0);
  if (rows.length === 0) return <p className="muted">No objects found.</p>;
  const max = Math.max(...rows.map((c) => classTotal(c, sizeKey)), 1e-12);
  const rowH = 18;
  const labelW = 96;
  // Room after the longest bar for a value with separators and its unit ("12,345,678 m²").
  const barW = 150;
  return (
    <svg className="chart" data-testid="class-chart" width={labelW + barW + 124} height={rows.length * rowH + 4} role="img" aria-label={`${label} per class`}>
      {rows.map((c, i) => {
        const v = classTotal(c, sizeKey);
        const w = Math.max(1, (v / max) * barW);
        return (
          <g key={c.id} transform={`translate(0, ${i * rowH + 2})`}>
            <text x={labelW - 6} y={12} textAnchor="end" className="chart-label">
              {/* A long class name is cut to fit; its tooltip has it whole, with the value and unit. */}
              <title>{`${c.name}: ${trim(v)} ${unit}`}</title>
              {c.name.length > 14 ? `${c.name.slice(0, 13)}…` : c.name}
            </text>
            <rect x={labelW} y={2} width={w} height={rowH - 6} fill={c.color} data-testid={`class-bar-${c.id}`} />
            <text x={labelW + w + 4} y={12} className="chart-value">
              {trim(v)} {unit}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** A class total's size range (the model's low–high, measure/ranges.ts), beside the total; nothing without one. */
function ClassRange({ range, classId }: { range: [number, number] | null; classId: number }) {
  if (!range) return null;
  return (
    <span className="range" data-testid={`class-range-${classId}`} title="size at the high and the low calibrated probability threshold (model card: coverage on held-out data)">
      {' '}({trim(range[0])}–{trim(range[1])})
    </span>
  );
}

export function MeasurementsPanel() {
  const result = useStore((s) => s.result);
  const selectedId = useStore((s) => s.selectedId);
  const extraSelectedIds = useStore((s) => s.extraSelectedIds);
  const sort = useStore((s) => s.sort);
  const image = useStore((s) => s.image);
  const [copied, setCopied] = useState<string | null>(null);
  const tableRef = useRef<HTMLDivElement>(null);
  // With a pixel size given to an image without geometry, pixel areas and lengths read in mm² or m².
  const pixelSize = image && result && image.handle === result.handle ? userPixelSize(image.info) : null;
  const pixelValue = pixelSize?.value;
  const pixelUnit = pixelSize?.unit;
  const doc = useMemo(() => (result ? withPixelSize(result.document, pixelValue && pixelUnit ? { value: pixelValue, unit: pixelUnit } : null) : undefined), [result, pixelValue, pixelUnit]);
  const valueUnit = intensityUnit(image?.info);
  const columns = useMemo(() => (doc ? columnsFor(doc, valueUnit) : []), [doc, valueUnit]);
  const rows = useMemo(() => (doc ? sortInstances(doc.instances, columns.find((c) => c.key === sort.key) ?? columns[0], sort.dir) : []), [doc, columns, sort]);

  // An object picked in the image: bring its row into view.
  useEffect(() => {
    if (selectedId === null) return;
    const row = tableRef.current?.querySelector(`[data-testid="instance-row-${selectedId}"]`);
    row?.scrollIntoView({ block: 'nearest' });
  }, [selectedId]);

  if (!doc || !result) return null;
  const windowed = result.windowed !== undefined;
  const [sizeKey, sizeName, sizeUnit] = summarySizeField(doc);
  const sizeLabel = `${sizeName} (${sizeUnit})`;
  return (
    <section className="panel measurements" data-testid="measurements-panel">
      <h2>
        Measurements
        <button
          className="small"
          hidden={windowed}
          data-testid="copy-csv"
          title="Copy every object as CSV (instances.json field names)"
          onClick={() => void copyText(instancesCsv(doc)).then((ok) => setCopied(ok ? `${trim(doc.instances.length)} rows copied` : 'copy failed'))}
        >
          Copy CSV
        </button>
        {copied && (
          <span className="muted small-note" data-testid="copy-status">
            {copied}
          </span>
        )}
      </h2>
      <table className="summary" data-testid="class-summary">
        <thead>
          <tr>
            <th>Class</th>
            <th className="num">Objects</th>
            <th className="num">{sizeLabel}</th>
          </tr>
        </thead>
        <tbody>
          {doc.classes.map((c) => (
            <tr key={c.id} data-testid={`class-row-${c.id}`}>
              <td>
                <span className="swatch" style={{ background: c.color }} /> {c.name}
              </td>
              <td className="num">{trim(c.instanceCount)}</td>
              <td className="num">
                <span data-testid={`class-total-${c.id}`}>{trim(classTotal(c, sizeKey))}</span>
                <ClassRange range={sizeRange(c, sizeKey)} classId={c.id} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ClassChart classes={doc.classes} sizeKey={sizeKey} label={sizeLabel} unit={sizeUnit} />
      {windowed ? (
        <PagedInstances doc={doc} resultId={result.resultId} revision={result.revision} valueUnit={valueUnit} />
      ) : (
        <InstancesTable
          columns={columns}
          rows={rows.slice(0, MAX_ROWS)}
          classes={doc.classes}
          sort={sort}
          onSort={(key) => apply(op.sortChanged(key))}
          isSelected={(id) => id === selectedId || extraSelectedIds.includes(id)}
          // Shift/Ctrl-click picks several objects (for Merge).
          onRowClick={(r, e) => apply(e.shiftKey || e.ctrlKey || e.metaKey ? op.instanceToggled(r.id) : op.instanceSelected(r.id, true))}
          wrapRef={tableRef}
          footer={rows.length > MAX_ROWS && <p className="muted">Showing {trim(MAX_ROWS)} of {trim(rows.length)} objects (sort to see others; CSV has all).</p>}
        />
      )}
    </section>
  );
}
