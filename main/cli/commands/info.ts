// `delineate info` (stub: implemented by its issue).
export async function infoCommand(_argv: string[]): Promise<number> {
  process.stderr.write('delineate info: not implemented yet\n');
  return 1;
}
