/**
 * `mxq worker`: placeholder until its issue lands.
 */
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('mxq worker: not implemented yet\n');
  return 69;
}
