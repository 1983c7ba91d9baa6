// `delineate measure <image> <labels> --out <dir> [--connectivity N] [--min-size X] [--min-size-px N]
// [--classes classes.json] [--labels-are classes|instances] [--spacing x,y[,z]] [--zones parcels.geojson]`:
// instances and measurements of an existing label map against its image: writes instances.json, instances.*,
// labels.*, measurements.csv and overlay.png, plus zones.csv/zones.geojson with --zones. --min-size is mm² (2D),
// mm³ (3D) or m² (geo); with --labels-are instances each value is one instance, touching or not.
import { promises as fs } from 'node:fs';
import { checkFlags, flagNumber, flagSpacing, flagString, parseArgs, UsageError } from '../args';
import { InputError } from '../../engine/image';
import { CONNECTIVITIES, type Connectivity } from '../../engine/postprocess/components';
import { measureFiles, type MeasureOptions } from '../../engine/pipeline';
import type { ManifestClass } from '../../../preload/formats';

const FLAGS = ['out', 'connectivity', 'min-size', 'min-size-px', 'classes', 'labels-are', 'spacing', 'zones'];

/**
 * classes.json: either an array of { name, color } (label value = index + 1), or
 * { "classes": [...], "instanceClasses": { "<instance value>": <class id> } } for --labels-are instances.
 */
export async function readClassesFile(file: string): Promise<{ classes: ManifestClass[]; classOfInstance?: Map<number, number> }> {
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new InputError(file, `cannot read classes (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const obj = Array.isArray(json) ? { classes: json } : (json as { classes?: unknown; instanceClasses?: unknown });
  if (!obj || !Array.isArray(obj.classes)) throw new InputError(file, 'expected an array of { "name", "color" } or { "classes": [...] }');
  const classes = obj.classes.map((c: unknown, i: number): ManifestClass => {
    const k = c as { name?: unknown; color?: unknown };
    if (typeof k?.name !== 'string') throw new InputError(file, `classes[${i}].name must be a string`);
    if (typeof k.color !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(k.color)) throw new InputError(file, `classes[${i}].color must be "#rrggbb"`);
    return { name: k.name, color: k.color };
  });
  let classOfInstance: Map<number, number> | undefined;
  if (obj.instanceClasses !== undefined) {
    if (typeof obj.instanceClasses !== 'object' || obj.instanceClasses === null) throw new InputError(file, '"instanceClasses" must map instance values to class ids');
    classOfInstance = new Map();
    for (const [k, v] of Object.entries(obj.instanceClasses)) {
      if (!Number.isInteger(Number(k)) || !Number.isInteger(v) || (v as number) < 1) throw new InputError(file, `instanceClasses["${k}"] must be a class id >= 1`);
      classOfInstance.set(Number(k), v as number);
    }
  }
  return { classes, ...(classOfInstance ? { classOfInstance } : {}) };
}

export async function measureCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  checkFlags(args, FLAGS);
  if (args.positionals.length !== 2) throw new UsageError('measure needs <image> <labels>');
  const [image, labels] = args.positionals as [string, string];
  const outDir = flagString(args, 'out');
  if (!outDir) throw new UsageError('measure needs --out <dir>');
  const connectivity = flagNumber(args, 'connectivity', 4, 26);
  if (connectivity !== undefined && !CONNECTIVITIES.includes(connectivity as Connectivity)) throw new UsageError(`--connectivity must be one of ${CONNECTIVITIES.join(', ')}`);
  const minSize = flagNumber(args, 'min-size', 0, Number.MAX_VALUE);
  const minSizePx = flagNumber(args, 'min-size-px', 0, Number.MAX_SAFE_INTEGER);
  const labelsAre = flagString(args, 'labels-are') ?? 'classes';
  if (labelsAre !== 'classes' && labelsAre !== 'instances') throw new UsageError(`--labels-are must be classes or instances, got "${labelsAre}"`);
  const spacingMm = flagSpacing(args);
  const classesFile = flagString(args, 'classes');
  const classes = classesFile ? await readClassesFile(classesFile) : undefined;
  const zones = flagString(args, 'zones');
  const options: MeasureOptions = {
    labelsAre,
    ...(connectivity ? { connectivity: connectivity as Connectivity } : {}),
    ...(minSize !== undefined ? { minSize } : {}),
    ...(minSizePx !== undefined ? { minSizePx: Math.ceil(minSizePx) } : {}),
    ...(spacingMm ? { spacingMm } : {}),
    ...(classes ? { classes: classes.classes } : {}),
    ...(classes?.classOfInstance ? { classOfInstance: classes.classOfInstance } : {}),
    ...(zones ? { zones } : {}),
  };
  const { document, instanceCount } = await measureFiles(image, labels, outDir, options);
  const perClass = document.classes.map((c) => `${c.name}: ${c.instanceCount}`).join(', ');
  process.stdout.write(`${labels} -> ${outDir}: ${instanceCount} instances${perClass ? ` (${perClass})` : ''}\n`);
  return 0;
}
