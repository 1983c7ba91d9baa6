// `delineate convert` (stub: implemented by its issue).
export async function convertCommand(_argv: string[]): Promise<number> {
  process.stderr.write('delineate convert: not implemented yet\n');
  return 1;
}
