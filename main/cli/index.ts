// `delineate`: a thin command-line shell over the engine. User mistakes print one line and exit 2.

import { InputError } from '../engine/image';
import { UsageError } from './args';
import { infoCommand } from './commands/info';
import { convertCommand } from './commands/convert';
import { segmentCommand } from './commands/segment';
import { measureCommand } from './commands/measure';
import { modelsCommand } from './commands/models';
import { exportCommand } from './commands/export';
import { promptCommand } from './commands/prompt';
import { compareCommand } from './commands/compare';
import { mergeCommand } from './commands/merge';

const USAGE = `usage:
  delineate info <input> [--json] [--spacing x,y[,z]] [--series UID] [--allow-gaps]
  delineate convert <input> <output.(nii|nii.gz|tif|png)> [--spacing x,y[,z]]
  delineate segment <input...> --model <id|file.onnx> --out <dir> [--device auto|cpu|cuda|dml|coreml|webgpu]
                    [--tile N|WxH] [--overlap 0..0.9] [--threads N] [--spacing x,y[,z]] [--series UID] [--allow-gaps] [--probabilities]
                    [--batch N] [--stack] [--no-resample] [--no-tta] [--no-postprocess]   (a folder is a batch of images; --stack reads it as one volume)
                    [--shard K/N]   (the K-th of N interleaved windows of a raster, or inputs of a list; join them with merge)
  delineate merge <shard-dir>... --out <dir>
  delineate measure <image> <labels> --out <dir> [--connectivity N] [--min-size X] [--min-size-px N]
                    [--classes classes.json] [--labels-are classes|instances] [--spacing x,y[,z]]
  delineate export <session-file-or-result-dir> --to seg|nifti|geotiff|geojson|gpkg|shp|csv|json|png --out <file>
                    [--crs EPSG:n] [--deidentify] [--per-instance] [--tolerance X] [--series <dicom dir>] [--z N] [--tracks change.json]
  delineate export <compare-out-dir> --to sr --out report.dcm [--targets 1,3] [--deidentify] [--seg seg0.dcm,seg1.dcm]   (DICOM SR measurement report)
  delineate compare <t0> <t1> [<t2>...] --out <dir> [--model id] [--dates YYYY-MM-DD,...]
                    [--register rigid|affine|none] [--min-area m2] [--targets 1,3]   (each a result folder, a session, or an image with --model)
  delineate prompt <image> --out <dir> [--point x,y[,z]]... [--negative x,y[,z]]... [--box x0,y0,x1,y1[,z]]
                    [--model <id|manifest|file.onnx>] [--mask <labels>] [--propagate] [--class id] [--point-crs EPSG:n]
  delineate models list [--json]
  delineate models inspect <file.onnx|folder|id> [--json]`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  info: infoCommand,
  convert: convertCommand,
  segment: segmentCommand,
  measure: measureCommand,
  models: modelsCommand,
  export: exportCommand,
  compare: compareCommand,
  prompt: promptCommand,
  merge: mergeCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`delineate: unknown command "${name}"\n${USAGE}\n`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    if (err instanceof InputError || err instanceof UsageError) {
      process.stderr.write(`delineate ${name}: ${err.message}\n`);
      return 2;
    }
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e.code === 'string' && ['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR'].includes(e.code)) {
      process.stderr.write(`delineate ${name}: ${e.path ?? ''}: ${e.code === 'ENOENT' ? 'no such file or folder' : e.code}\n`);
      return 2;
    }
    process.stderr.write(`delineate ${name}: internal error: ${e?.message ?? String(err)}\n`);
    if (process.env.DELINEATE_DEBUG) process.stderr.write(String(e?.stack) + '\n');
    return 1;
  }
}
