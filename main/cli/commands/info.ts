// `delineate info <input> [--json] [--spacing x,y[,z]]`: what the engine sees in a file (ImageInfo).
import type { ImageInfo } from '../../../preload/formats';
import { describe } from '../../engine/image';
import { openImage } from '../../engine/io';
import { UsageError, checkFlags, openOptionsFromFlags, OPEN_FLAGS, parseArgs } from '../args';

function fmt(v: unknown): string {
  if (Array.isArray(v)) return v.map((n) => (typeof n === 'number' ? Number(n.toPrecision(10)) : typeof n === 'object' && n !== null ? JSON.stringify(n) : n)).join(', ');
  return String(v);
}

/** Readable summary: the main fields first, then whatever the reader added. */
export function formatInfo(info: ImageInfo): string {
  const lines = [
    `file:       ${info.file}`,
    `format:     ${info.format} (${info.kind})`,
    `size:       ${info.width} x ${info.height} x ${info.depth} voxels, ${info.channels} channel(s), ${info.dtype}`,
  ];
  if (info.spacingMm) lines.push(`spacing:    ${fmt(info.spacingMm)} mm`);
  if (info.originMm) lines.push(`origin:     ${fmt(info.originMm)} mm (LPS)`);
  if (info.direction) lines.push(`direction:  ${fmt(info.direction)}`);
  if (info.geotransform) lines.push(`geotransform: ${fmt(info.geotransform)}`);
  if ('crs' in info) lines.push(`crs:        ${info.crs ?? '(none)'}`);
  if (info.nodata !== undefined) lines.push(`nodata:     ${info.nodata}`);
  const shown = new Set(['file', 'format', 'kind', 'width', 'height', 'depth', 'channels', 'dtype', 'spacingMm', 'originMm', 'direction', 'geotransform', 'crs', 'nodata']);
  for (const [k, v] of Object.entries(info)) if (!shown.has(k) && v !== undefined) lines.push(`${k}: ${typeof v === 'object' && v !== null && !Array.isArray(v) ? JSON.stringify(v) : fmt(v)}`);
  return lines.join('\n');
}

export async function infoCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json', 'allow-gaps']);
  checkFlags(args, ['json', ...OPEN_FLAGS]);
  const [input, ...extra] = args.positionals;
  if (!input) throw new UsageError('info needs an input file or folder');
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const src = await openImage(input, openOptionsFromFlags(args));
  try {
    const info = describe(src);
    process.stdout.write((args.flags.has('json') ? JSON.stringify(info, null, 2) : formatInfo(info)) + '\n');
  } finally {
    await src.close();
  }
  return 0;
}
