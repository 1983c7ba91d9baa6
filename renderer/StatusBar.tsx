// Status bar: what is open (name, size, kind, type, geometry), where the cursor is, the zoom and the engine.
import type { ImageInfo } from '../preload/api';
import { useStore } from './state/store';

function geometryText(info: ImageInfo): string {
  if (info.crs) return info.crs.startsWith('EPSG:') ? info.crs : 'CRS (WKT)';
  if (info.geotransform) return `${fmt(Math.abs(info.geotransform[1]))} map units/px`;
  if (info.spacingMm) return `${info.spacingMm.map(fmt).join(' × ')} mm`;
  return 'pixel units';
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, '');
}

export function StatusBar() {
  const image = useStore((s) => s.image);
  const z = useStore((s) => s.z);
  const cursor = useStore((s) => s.cursor);
  const zoomPct = useStore((s) => s.zoomPct);
  const engine = useStore((s) => s.engine);
  const info = image?.info;
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
          {info.depth > 1 && <span data-testid="status-slice">slice {z + 1}/{info.depth}</span>}
          <span data-testid="status-cursor">{cursor ? `x ${cursor.x}, y ${cursor.y}` : '—'}</span>
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
