// `delineate models` (stub: implemented by its issue).
export async function modelsCommand(_argv: string[]): Promise<number> {
  process.stderr.write('delineate models: not implemented yet\n');
  return 1;
}
