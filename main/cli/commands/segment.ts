// `delineate segment` (stub: implemented by its issue).
export async function segmentCommand(_argv: string[]): Promise<number> {
  process.stderr.write('delineate segment: not implemented yet\n');
  return 1;
}
