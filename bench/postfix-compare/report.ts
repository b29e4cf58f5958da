/**
 * Rows of bench/postfix-compare and the markdown table made of them.
 *
 * Decides: per workload and system the median round (by msg/s) gives every figure; the ratio is
 * each mxq system's median over Postfix's median in the same run (not for mxq@base); latency
 * percentiles are nearest-rank; a TLS handshakes column when any row counted them.
 * Never: measures anything.
 */

export interface Row {
  workload: string;
  /** 'Postfix', 'smtp-source', 'mxq', 'mxq@base', or 'mxq pool, shared|local'. */
  system: string;
  rate: number;
  deliveries: number;
  cpuMsPerMsg: number | undefined;
  redisCpuMsPerMsg?: number;
  peakRssMiB: number | undefined;
  /** release → 250 per delivery, ms. */
  latencies?: number[];
  conns: number;
  /** STARTTLS commands the server saw per delivery (the TLS path only). */
  tlsPerMsg?: number;
  dnsPerMsg?: number;
  redisCmdsPerMsg?: number;
}

export interface Summary extends Row {
  rounds: number;
  rates: number[];
  ratio?: number;
}

function median<T>(xs: T[], by: (x: T) => number): T | undefined {
  const s = [...xs].sort((a, b) => by(a) - by(b));
  return s[Math.floor((s.length - 1) / 2)];
}

export function percentile(xs: number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function summarize(rows: Row[]): Summary[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = `${r.workload}\u0000${r.system}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: Summary[] = [];
  for (const list of groups.values()) {
    const m = median(list, (r) => r.rate);
    if (m !== undefined) out.push({ ...m, rounds: list.length, rates: list.map((r) => r.rate) });
  }
  for (const s of out) {
    if (!s.system.startsWith('mxq') || s.system === 'mxq@base') continue;
    const pf = out.find((x) => x.workload === s.workload && x.system === 'Postfix');
    if (pf !== undefined) s.ratio = s.rate / pf.rate;
  }
  return out;
}

const f = (x: number | undefined, d = 2) => (x === undefined ? '–' : x.toFixed(d));

export function renderTable(rows: Summary[]): string {
  const tls = rows.some((r) => r.tlsPerMsg !== undefined);
  const out = [
    `| Workload | System | msg/s (median) | rounds | CPU ms/msg (Redis) | peak RSS MiB | release→250 p50 / p99 ms | new conns/msg |${tls ? ' TLS handshakes/msg |' : ''} DNS q/msg | Redis cmds/msg | mxq / Postfix |`,
    `|---|---|---:|---:|---:|---:|---:|---:|${tls ? '---:|' : ''}---:|---:|---:|`,
  ];
  for (const r of rows) {
    const lat = r.latencies ?? [];
    const cpu =
      r.cpuMsPerMsg === undefined
        ? '–'
        : `${f(r.cpuMsPerMsg)}${r.redisCpuMsPerMsg === undefined ? '' : ` (${f(r.redisCpuMsPerMsg)})`}`;
    out.push(
      `| ${r.workload} | ${r.system} | ${r.rate.toFixed(0)} | ${r.rounds} | ${cpu} | ${f(r.peakRssMiB, 0)} | ` +
        `${lat.length === 0 ? '–' : `${f(percentile(lat, 50), 0)} / ${f(percentile(lat, 99), 0)}`} | ` +
        `${f(r.conns, 3)} |${tls ? ` ${f(r.tlsPerMsg, 3)} |` : ''} ${f(r.dnsPerMsg, 3)} | ${f(r.redisCmdsPerMsg, 1)} | ${r.ratio === undefined ? '' : `**${r.ratio.toFixed(2)}**`} |`,
    );
  }
  return out.join('\n');
}
