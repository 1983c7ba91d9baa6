// The PNG snapshot export: one slice with its labels, enlarged for small images, a scale bar in mm or m (when the
// geometry gives a physical pixel size) and a legend strip of class names and colours under it. sharp draws the
// SVG text and bar (librsvg), so no font is bundled here.
import sharp from 'sharp';
import type { Geometry, ManifestClass } from '../../../preload/formats';
import { isGeographicCrs } from '../measure/geo';
import type { SnapshotLine } from './manual';

/** Metres per degree of latitude (and of longitude at the equator) on the WGS84 mean sphere; enough for a bar. */
const M_PER_DEG = 111_320;
/** Small images are enlarged (nearest pixel) up to this width so the legend text stays readable. */
const MIN_WIDTH_PX = 640;
const MAX_UPSCALE = 8;

export interface ScaleBar {
  /** Length of the bar in output pixels. */
  lengthPx: number;
  label: string;
}

/** Physical size of one image pixel along x: millimetres (medical, or spaced plain images) or metres (geo). */
export function pixelSizeX(geometry: Geometry, height: number): { mm: number } | { m: number } | null {
  if (geometry.type === 'medical' || (geometry.type === 'pixel' && geometry.spacingMm)) {
    const sx = geometry.spacingMm?.[0];
    return sx && sx > 0 ? { mm: sx } : null;
  }
  if (geometry.type === 'geo') {
    const [, a, b, f, , e] = geometry.geotransform;
    const size = Math.hypot(a, b);
    if (!(size > 0)) return null;
    const geographic = isGeographicCrs(geometry.crs);
    if (geographic === false) return { m: size };
    if (geographic === true) {
      // Degrees: the length of a degree of longitude at the image's middle latitude.
      const lat = f + (e * height) / 2;
      return { m: size * M_PER_DEG * Math.cos((lat * Math.PI) / 180) };
    }
  }
  return null;
}

/** The 1-2-5 step at or below v. */
function niceBelow(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  const m = v / p;
  return (m >= 5 ? 5 : m >= 2 ? 2 : 1) * p;
}

function formatLength(v: number, unit: 'mm' | 'm'): string {
  if (unit === 'mm') return v >= 10 && v % 10 === 0 ? `${v / 10} cm` : `${v} mm`;
  return v >= 1000 ? `${v / 1000} km` : `${v} m`;
}

/** A bar of a round length about a fifth of the output width; null without a physical pixel size. */
export function scaleBar(geometry: Geometry, width: number, height: number, outScale: number): ScaleBar | null {
  const size = pixelSizeX(geometry, height);
  if (!size) return null;
  const [perPx, unit] = 'mm' in size ? [size.mm, 'mm' as const] : [size.m, 'm' as const];
  const length = niceBelow((width * perPx) / 5);
  // Trailing float noise (0.30000000000000004) must not reach the label.
  const rounded = Number(length.toPrecision(6));
  return { lengthPx: (rounded / perPx) * outScale, label: formatLength(rounded, unit) };
}

const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * PNG bytes of the snapshot: `rgb` (interleaved RGB, width x height) enlarged for small images, the scale bar over its
 * lower left corner and the legend (every class: swatch and name) in a dark strip below.
 */
export async function snapshotPng(rgb: Uint8Array, width: number, height: number, classes: ManifestClass[], geometry: Geometry, lines: SnapshotLine[] = [], caption?: string): Promise<Buffer> {
  const k = Math.max(1, Math.min(MAX_UPSCALE, Math.ceil(MIN_WIDTH_PX / width)));
  const outW = width * k;
  const outH = height * k;
  const font = 'font-family="DejaVu Sans, Lato, Arial, sans-serif" font-size="13"';
  // Legend items flow left to right and wrap; widths estimated from the text length (no text metrics here).
  const rows: Array<Array<{ x: number; c: ManifestClass }>> = [[]];
  let x = 10;
  for (const c of classes) {
    const w = 26 + Math.ceil(c.name.length * 7.5) + 16;
    if (x + w > outW - 10 && rows[rows.length - 1]!.length > 0) {
      rows.push([]);
      x = 10;
    }
    rows[rows.length - 1]!.push({ x, c });
    x += w;
  }
  const rowH = 22;
  const stripH = 10 + rows.length * rowH;
  const legend = rows
    .flatMap((row, r) =>
      row.map(({ x: lx, c }) => {
        const y = 10 + r * rowH;
        return `<rect x="${lx}" y="${y}" width="14" height="14" rx="2" fill="${escapeXml(c.color)}" stroke="#ffffff" stroke-opacity="0.35"/><text x="${lx + 20}" y="${y + 12}" fill="#d7dae0" ${font}>${escapeXml(c.name)}</text>`;
      }),
    )
    .join('');
  const bar = scaleBar(geometry, width, height, k);
  let barSvg = '';
  if (bar) {
    const bx = 12;
    const by = outH - 14;
    const len = Math.round(bar.lengthPx);
    // White bar with a dark halo: readable over bright and dark images alike.
    const path = `M${bx} ${by - 6} V${by} H${bx + len} V${by - 6}`;
    barSvg =
      `<path d="${path}" fill="none" stroke="#000" stroke-opacity="0.7" stroke-width="5"/>` +
      `<path d="${path}" fill="none" stroke="#fff" stroke-width="2"/>` +
      `<text x="${bx}" y="${by - 10}" fill="#fff" stroke="#000" stroke-width="3" paint-order="stroke" ${font}>${escapeXml(bar.label)}</text>`;
  }
  // Hand-drawn measurements (rulers, bidirectional axes) in yellow with a dark halo, as the viewer draws them.
  const at = (p: [number, number]): string => `${(p[0] * k).toFixed(1)} ${(p[1] * k).toFixed(1)}`;
  const linesSvg = lines
    .map((l) => {
      const d = `M${at(l.a)} L${at(l.b)}`;
      const label = l.label ? `<text x="${(l.b[0] * k + 6).toFixed(1)}" y="${(l.b[1] * k - 6).toFixed(1)}" fill="#ffd33d" stroke="#000" stroke-width="3" paint-order="stroke" ${font}>${escapeXml(l.label)}</text>` : '';
      return `<path d="${d}" stroke="#000" stroke-opacity="0.7" stroke-width="4"/><path d="${d}" stroke="#ffd33d" stroke-width="2"/>${label}`;
    })
    .join('');
  // Which slice of a volume this is, counted from 1 as people read it (upper left, like the viewer's label).
  const captionSvg = caption ? `<text x="10" y="20" fill="#fff" stroke="#000" stroke-width="3" paint-order="stroke" ${font}>${escapeXml(caption)}</text>` : '';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${outW}" height="${outH + stripH}"><rect x="0" y="${outH}" width="${outW}" height="${stripH}" fill="#1e2126"/>${linesSvg}${barSvg}${captionSvg}<g transform="translate(0 ${outH})">${legend}</g></svg>`;
  const image = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(outW, outH, { kernel: 'nearest' })
    .png()
    .toBuffer();
  return sharp(image)
    .extend({ bottom: stripH, background: '#1e2126' })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toBuffer();
}
