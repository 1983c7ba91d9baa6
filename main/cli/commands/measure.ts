// `delineate measure` (stub: implemented by its issue).
export async function measureCommand(_argv: string[]): Promise<number> {
  process.stderr.write('delineate measure: not implemented yet\n');
  return 1;
}
