// Status bar: what is open (name, size, kind, type, geometry), the cursor read-out (pixel, value in modality
// units such as HU, patient mm or lon/lat, the object under it), the zoom and the engine.
import { useSyncExternalStore } from 'react';
import type { ImageInfo, PixelProbe } from '../preload/api';
import { useStore } from './state/store';
import { aiVersion, aiView, subscribeAi } from './tools/ai';
import { instanceAt } from './viewer/Viewer';
import { trim, userPixelSize } from './viewer/units';

function geometryText(info: ImageInfo): string {
  if (info.crs) return info.crs.startsWith('EPSG:') ? info.crs : 'CRS (WKT)';
  if (info.geotransform) return `${trim(Math.abs(info.geotransform[1]))} map units/px`;
  if (info.spacingMm) return `${info.spacingMm.map((v) => trim(v)).join(' × ')} mm`;
  const given = userPixelSize(info);
  if (given) return `${trim(given.value)} ${given.unit}/px (given)`;
  return 'pixel units';
}

function valueText(p: PixelProbe): string {
  const vals = p.values.map((v) => (v === null ? 'nodata' : trim(v)));
  const shown = vals.length > 4 ? `${vals.slice(0, 4).join(', ')}, …` : vals.join(', ');
  return p.valueUnit ? `${shown} ${p.valueUnit}` : shown;
}

function whereText(p: PixelProbe): string | null {
  if (p.lonLat) return `${Math.abs(p.lonLat[1]).toFixed(5)}°${p.lonLat[1] >= 0 ? 'N' : 'S'} ${Math.abs(p.lonLat[0]).toFixed(5)}°${p.lonLat[0] >= 0 ? 'E' : 'W'}`;
  if (p.mapXY) return `${trim(p.mapXY[0])}, ${trim(p.mapXY[1])} (map)`;
  if (p.worldMm) {
    // LPS: + is left, posterior, superior; show the letter of the side each coordinate is on.
    if (p.worldMm.length === 3) {
      const [x, y, zz] = p.worldMm;
      return `${x >= 0 ? 'L' : 'R'} ${trim(Math.abs(x))}  ${y >= 0 ? 'P' : 'A'} ${trim(Math.abs(y))}  ${zz >= 0 ? 'S' : 'I'} ${trim(Math.abs(zz))} mm`;
    }
    return `${p.worldMm.map((v) => trim(v)).join(', ')} mm`;
  }
  return null;
}

export function StatusBar() {
  const image = useStore((s) => s.image);
  const z = useStore((s) => s.z);
  const cursor = useStore((s) => s.cursor);
  const probe = useStore((s) => s.probe);
  const zoomPct = useStore((s) => s.zoomPct);
  const engine = useStore((s) => s.engine);
  const resultSlice = useStore((s) => s.resultSlice);
  const result = useStore((s) => s.result);
  const tool = useStore((s) => s.tool);
  // The AI tool's model time per click, while the tool is on.
  useSyncExternalStore(subscribeAi, aiVersion);
  const clickMs = tool === 'ai' ? aiView().lastClickMs : null;
  const info = image?.info;
  const p = probe && cursor && probe.x === cursor.x && probe.y === cursor.y && probe.z === (cursor.z ?? z) ? probe : null;
  // The instance under a cursor on a coronal/sagittal view (cursor.z set) is not on the axial map.
  const under = cursor && cursor.z === undefined ? instanceAt(resultSlice, cursor.x, cursor.y) : 0;
  const underRec = under ? result?.document.instances.find((r) => r.id === under) : undefined;
  return (
    <footer className="statusbar" data-testid="status-bar">
      {info && image ? (
        <>
          <span data-testid="status-file" title={image.name}>
            {image.name}
          </span>
          <span data-testid="status-size">
            {info.width} × {info.height}
            {info.depth > 1 ? ` × ${info.depth}` : ''}
            {info.channels > 1 ? ` (${info.channels} ch)` : ''}
          </span>
          <span data-testid="status-kind">{info.kind}</span>
          <span data-testid="status-dtype">{info.dtype}</span>
          <span data-testid="status-geometry">{geometryText(info)}</span>
          {info.depth > 1 && (
            <span data-testid="status-slice">
              slice {z + 1}/{info.depth}
            </span>
          )}
          {info.filledPlanes?.includes(z) && (
            <span className="status-warning" data-testid="status-interpolated" title="No image was acquired on this plane (a missing slice): it is interpolated between its neighbours, and so is anything outlined on it.">
              interpolated
            </span>
          )}
          <span data-testid="status-cursor">{cursor ? `x ${cursor.x}, y ${cursor.y}${cursor.z !== undefined ? `, z ${cursor.z}` : ''}` : '—'}</span>
          {p && <span data-testid="status-value">{valueText(p)}</span>}
          {p && whereText(p) && <span data-testid="status-world">{whereText(p)}</span>}
          {underRec && <span data-testid="status-object">#{underRec.id} {underRec.className}</span>}
          {clickMs !== null && <span data-testid="status-ai-ms" title="Model time of the last AI click (onnxruntime only)">AI {clickMs < 10 ? clickMs.toFixed(1) : Math.round(clickMs)} ms/click</span>}
          <span data-testid="status-zoom">{Math.round(zoomPct)}%</span>
        </>
      ) : (
        <span>No image</span>
      )}
      <span className={`engine engine-${engine.state}`} data-testid="status-engine">
        engine: {engine.state}
      </span>
    </footer>
  );
}
