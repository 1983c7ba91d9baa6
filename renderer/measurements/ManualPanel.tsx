// Manual measurements of the open image (ruler lengths, bidirectional long × short axes) beside the automatic
// ones: slice, lengths in the image's unit, a button to go to the slice and one to delete; Copy CSV for all of them.
import { useMemo, useState } from 'react';
import { apply, useStore } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';
import { trim } from '../viewer/units';
import { copyText } from './clipboard';
import { lengthScale, manualCsv, measurementLengths } from './manual';

export function ManualPanel() {
  const image = useStore((s) => s.image);
  const all = useStore((s) => s.manual);
  const [copied, setCopied] = useState<string | null>(null);
  const list = useMemo(() => all.filter((m) => m.handle === image?.handle), [all, image]);
  const scale = useMemo(() => (image ? lengthScale(image.info) : null), [image]);
  if (!image || !scale || list.length === 0) return null;
  const approx = scale.approximate ? '≈ ' : '';
  const is3D = image.info.depth > 1;
  return (
    <section className="panel" data-testid="manual-panel">
      <h2>
        Manual measurements
        <button className="small" data-testid="manual-copy-csv" title="Copy the manual measurements as CSV" onClick={() => void copyText(manualCsv(list, scale)).then((ok) => setCopied(ok ? `${list.length} rows copied` : 'copy failed'))}>
          Copy CSV
        </button>
        {copied && <span className="muted small-note">{copied}</span>}
      </h2>
      {scale.approximate && (
        <p className="muted" data-testid="manual-approximate">
          Lengths are approximate: {scale.approximate}.
        </p>
      )}
      <table className="instances manual-table" data-testid="manual-table">
        <thead>
          <tr>
            <th>#</th>
            <th>Kind</th>
            {is3D && <th className="num">Slice</th>}
            <th className="num">
              Long
              <br />
              <span className="unit">{scale.unit}</span>
            </th>
            <th className="num">
              Short
              <br />
              <span className="unit">{scale.unit}</span>
            </th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.map((m) => {
            const { long, short } = measurementLengths(m, scale);
            return (
              <tr key={m.id} data-testid={`manual-row-${m.id}`} onClick={() => void cmd.goToSlice(m.z)} title={is3D ? 'Go to its slice' : undefined}>
                <td>M{m.id}</td>
                <td>{m.kind === 'ruler' ? 'Ruler' : 'Bidirectional'}</td>
                {is3D && <td className="num">{m.z + 1}</td>}
                <td className="num" data-testid={`manual-long-${m.id}`}>
                  {approx}
                  {trim(long)} {scale.unit}
                </td>
                <td className="num" data-testid={`manual-short-${m.id}`}>
                  {short === undefined ? '' : `${approx}${trim(short)} ${scale.unit}`}
                </td>
                <td>
                  <button
                    className="small danger"
                    data-testid={`manual-delete-${m.id}`}
                    aria-label={`Delete measurement M${m.id}`}
                    title="Delete this measurement"
                    onClick={(e) => {
                      e.stopPropagation();
                      apply(op.manualRemoved(m.id));
                    }}
                  >
                    ×
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
