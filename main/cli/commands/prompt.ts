// `delineate prompt <image> --out <dir> --point x,y[,z]... [--negative x,y[,z]]... [--box x0,y0,x1,y1[,z]]
// [--mask labels] [--propagate] [--class id] [--model id|manifest|onnx] [--point-crs EPSG:n]`: interactive
// segmentation from the command line. Clicks apply in command-line order (include and exclude interleaved), so
// they are read here in order rather than through the flag map, which keeps one value per flag.
import { checkFlags, flagNumber, flagString, openOptionsFromFlags, parseArgs, UsageError } from '../args';
import { DEVICE_REQUESTS, type DeviceRequest } from '../../engine/inference/runtime';
import { promptToFolder, type Click, type PromptBoxInput } from '../../engine/interactive/prompt';

const FLAGS = ['model', 'out', 'box', 'mask', 'propagate', 'class', 'point-crs', 'device', 'threads', 'spacing'];

/** "x,y" or "x,y,z": numbers (whole pixel indices unless --point-crs takes map coordinates). */
function parseXyz(flag: string, value: string | undefined, mapCoordinates: boolean): { x: number; y: number; z?: number } {
  if (value === undefined || value.startsWith('--')) throw new UsageError(`--${flag} needs a value x,y or x,y,z`);
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !Number.isFinite(p))) throw new UsageError(`--${flag} must be x,y or x,y,z, got "${value}"`);
  const [x, y, z] = parts as [number, number, number | undefined];
  if (!mapCoordinates && (!Number.isInteger(x) || !Number.isInteger(y))) throw new UsageError(`--${flag} takes zero-based pixel indices (whole numbers), got "${value}"`);
  if (z !== undefined && !Number.isInteger(z)) throw new UsageError(`--${flag}: z is a slice index (a whole number), got "${value}"`);
  return { x, y, ...(z !== undefined ? { z } : {}) };
}

function parseBox(value: string, mapCoordinates: boolean): PromptBoxInput {
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (parts.length < 4 || parts.length > 5 || parts.some((p) => !Number.isFinite(p))) throw new UsageError(`--box must be x0,y0,x1,y1 or x0,y0,x1,y1,z, got "${value}"`);
  const [x0, y0, x1, y1, z] = parts as [number, number, number, number, number | undefined];
  if (!mapCoordinates && ![x0, y0, x1, y1].every(Number.isInteger)) throw new UsageError(`--box takes zero-based pixel indices (whole numbers), got "${value}"`);
  if (z !== undefined && !Number.isInteger(z)) throw new UsageError(`--box: z is a slice index (a whole number), got "${value}"`);
  return { x0, y0, x1, y1, ...(z !== undefined ? { z } : {}) };
}

export async function promptCommand(argv: string[]): Promise<number> {
  // Pull the repeatable, ordered clicks out first; everything else goes through the usual parser.
  const rest: string[] = [];
  const raw: Array<{ flag: 'point' | 'negative'; value: string | undefined }> = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--(point|negative)(?:=(.*))?$/.exec(a);
    if (m) {
      const flag = m[1] as 'point' | 'negative';
      if (m[2] !== undefined) raw.push({ flag, value: m[2] });
      else raw.push({ flag, value: argv[++i] });
    } else rest.push(a);
  }
  const args = parseArgs(rest, ['propagate']);
  checkFlags(args, FLAGS);
  if (args.positionals.length !== 1) throw new UsageError(`prompt takes one image, got ${args.positionals.length}`);
  const outDir = flagString(args, 'out');
  if (!outDir) throw new UsageError('prompt needs --out <dir>');
  const pointCrs = flagString(args, 'point-crs');
  if (pointCrs !== undefined && !/^EPSG:\d+$/i.test(pointCrs)) throw new UsageError(`--point-crs must be EPSG:n, got "${pointCrs}"`);
  const mapCoordinates = pointCrs !== undefined;
  const clicks: Click[] = raw.map((r) => ({ ...parseXyz(r.flag, r.value, mapCoordinates), positive: r.flag === 'point' }));
  const boxValue = flagString(args, 'box');
  const box = boxValue !== undefined ? parseBox(boxValue, mapCoordinates) : null;
  if (clicks.length === 0 && !box) throw new UsageError('prompt needs at least one --point x,y[,z] or a --box x0,y0,x1,y1[,z]');
  const classId = flagNumber(args, 'class', 1, 65534);
  if (classId !== undefined && !Number.isInteger(classId)) throw new UsageError('--class takes a whole number from 1 to 65534');
  const threads = flagNumber(args, 'threads', 1, 256);
  const device = (flagString(args, 'device') ?? 'cpu') as DeviceRequest;
  if (!DEVICE_REQUESTS.includes(device)) throw new UsageError(`--device must be one of ${DEVICE_REQUESTS.join(', ')}, got "${device}"`);
  const modelSpec = flagString(args, 'model');
  const maskFile = flagString(args, 'mask');
  const open = openOptionsFromFlags(args);

  const out = await promptToFolder(args.positionals[0]!, outDir, {
    clicks,
    box,
    device,
    ...(modelSpec ? { model: modelSpec } : {}),
    ...(maskFile ? { maskFile } : {}),
    ...(args.flags.has('propagate') ? { propagate: true } : {}),
    ...(classId !== undefined ? { classId } : {}),
    ...(pointCrs ? { pointCrs } : {}),
    ...(threads ? { threads } : {}),
    ...(open.spacingMm ? { openOptions: { spacingMm: open.spacingMm } } : {}),
  });
  const object = out.document.instances[0];
  const size = object ? ['volumeMl', 'areaHa', 'areaMm2', 'areaM2', 'areaPx', 'volumePx'].map((k) => (typeof object[k] === 'number' ? `${k} ${Number(object[k]).toPrecision(4)}` : null)).find(Boolean) : null;
  process.stdout.write(
    `${args.positionals[0]} -> ${outDir}: ${object ? `1 object, ${object.pixelCount} px${size ? `, ${size}` : ''}` : 'no object'} (${out.prompt.model.id}, ${out.prompt.steps.length} model step${out.prompt.steps.length === 1 ? '' : 's'}, model ${(out.prompt.modelSeconds * 1000).toFixed(0)} ms, ${out.prompt.seconds.toFixed(2)} s)\n`,
  );
  return 0;
}
