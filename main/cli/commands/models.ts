// `delineate models list [--json]` and `delineate models inspect <file.onnx|folder|id> [--json]`: what is installed,
// and what the engine reads from a model file (inputs/outputs with shapes, metadata, the manifest it would use).
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { checkFlags, parseArgs, UsageError } from '../args';
import { resolveModel, scanModels, summarize, type ResolvedModel } from '../../engine/inference/manifest';
import { readOnnxInfo, type OnnxTensorInfo } from '../../engine/inference/onnx-meta';
import { cardLicenceSection, isNonCommercialLicense, NON_COMMERCIAL_NOTE } from '../../engine/inference/license';

function shape(t: OnnxTensorInfo): string {
  return `${t.name} ${t.elemType}[${t.shape ? t.shape.map((d) => (d === null ? '?' : String(d))).join(', ') : '?'}]`;
}

async function list(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json']);
  checkFlags(args, ['json']);
  const scan = await scanModels();
  // Broken manifests are reported, not fatal: one bad folder must not hide the other models.
  for (const p of scan.problems) process.stderr.write(`delineate models: ${p.message}\n`);
  const summaries = scan.models.map(summarize);
  if (args.flags.has('json')) {
    process.stdout.write(JSON.stringify(summaries, null, 2) + '\n');
    return 0;
  }
  if (summaries.length === 0) {
    process.stdout.write('no models installed (put models/<id>/manifest.json + model.onnx in the models folder, or set DELINEATE_USER_MODELS_DIR)\n');
    return 0;
  }
  for (const m of summaries) {
    const terms = m.nonCommercial ? `, ${NON_COMMERCIAL_NOTE.toUpperCase()}` : '';
    // Prompt models outline one object from clicks (delineate prompt); they have no classes of their own to list.
    const what = m.task === 'prompt' ? 'interactive: delineate prompt' : `classes: ${m.classes.map((c) => c.name).join(', ')}`;
    process.stdout.write(`${m.id}  ${m.name} ${m.version}  [${m.kinds.join(', ')}]  ${what}  (${m.source}, ${m.license}${terms})\n`);
  }
  return 0;
}

async function inspect(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json']);
  checkFlags(args, ['json']);
  const [spec] = args.positionals;
  if (!spec || args.positionals.length !== 1) throw new UsageError('models inspect needs one <file.onnx | model folder | id>');
  const problems: string[] = [];
  let model: ResolvedModel | null = null;
  let onnxPath: string;
  if (/\.onnx$/i.test(spec) && existsSync(spec)) {
    onnxPath = path.resolve(spec);
    try {
      model = await resolveModel(spec);
    } catch (err) {
      problems.push((err as Error).message);
    }
  } else {
    model = await resolveModel(spec);
    onnxPath = model.onnxPath;
  }
  // A file that is not ONNX is one line and exit 2 (InputError), like any other bad input.
  const info = await readOnnxInfo(onnxPath);
  if (info.usesExternalData) problems.push('weights are stored in external data files, which must sit beside the model');
  if (info.inputs.length > 1) problems.push(`the model has ${info.inputs.length} inputs; only the first (or the manifest's input.name) is fed`);
  // The weights' licence and the third-party code and data behind them (the card's licence section).
  const license = model
    ? { model: model.manifest.license, nonCommercial: isNonCommercialLicense(model.manifest.license), thirdParty: await cardLicenceSection(model.manifestPath, model.manifest) }
    : null;
  const report = {
    file: onnxPath,
    onnx: {
      irVersion: info.irVersion,
      producer: [info.producerName, info.producerVersion].filter(Boolean).join(' '),
      opsets: info.opsets,
      inputs: info.inputs,
      outputs: info.outputs,
      nodes: info.nodeCount,
      metadata: info.metadata,
    },
    manifestSource: model ? (model.manifestPath ?? 'onnx metadata_props') : null,
    manifest: model?.manifest ?? null,
    license,
    problems,
  };
  if (args.flags.has('json')) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return 0;
  }
  const lines = [
    `file: ${report.file}`,
    `onnx: ir ${info.irVersion}, opsets ${info.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}, ${info.nodeCount} nodes${report.onnx.producer ? `, by ${report.onnx.producer}` : ''}`,
    ...info.inputs.map((t) => `input:  ${shape(t)}`),
    ...info.outputs.map((t) => `output: ${shape(t)}`),
    ...Object.entries(info.metadata).map(([k, v]) => `metadata ${k}: ${v.length > 100 ? v.slice(0, 100) + '...' : v}`),
    `manifest: ${report.manifestSource ?? 'none'}`,
    ...(model ? [`  ${model.manifest.id}: ${model.manifest.classes.map((c) => c.name).join(', ')}; tile ${model.manifest.tileSize.join('x')}; ${model.manifest.outputs.type}`] : []),
    ...(license
      ? [
          `licence: ${license.model}${license.nonCommercial ? ` (${NON_COMMERCIAL_NOTE.toUpperCase()})` : ''}`,
          ...license.thirdParty.map((l) => `  ${l}`),
          'third-party software licences: THIRD-PARTY-NOTICES.txt beside the program (npm run notices writes it)',
        ]
      : []),
    ...problems.map((p) => `problem: ${p}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

export async function modelsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list(rest);
  if (sub === 'inspect') return inspect(rest);
  throw new UsageError(`models needs a subcommand: list [--json] | inspect <file.onnx> [--json]${sub ? ` (got "${sub}")` : ''}`);
}
