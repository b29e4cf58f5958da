/**
 * Reading a Prometheus text exposition in tests: the value of one sample by name and labels.
 */

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1] ?? ''] = m[2] ?? '';
  return out;
}

/** The sample whose labels include every given label (exactly these when `labels` is {}), or undefined. */
export function sampleValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = parseLabels(m[2] ?? '');
    const want = Object.entries(labels);
    if (want.length === 0 && Object.keys(have).length > 0) continue;
    if (want.every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}
