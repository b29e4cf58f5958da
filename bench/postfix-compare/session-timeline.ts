/**
 * How a client used its sessions, as the receiving server saw it (the TLS path of
 * bench/postfix-compare): from the peer's timestamped command lines and messages of one round.
 *
 * Decides: the figures: commands per message by verb (RSET probes, EHLO, STARTTLS, QUIT), the
 * median gaps on one connection (RSET → MAIL: the probe's round trip plus the client's turn;
 * MAIL → DATA: 0 when pipelined; DATA → final dot: the 354's round trip plus the body write;
 * final dot → next command: the 250's way back, the client's turn between two messages and the
 * next command's way in), how many sessions were inside a transaction at once on average (sum of
 * first-command → dot times over the round's length), and the most connections that sent
 * anything within one 100 ms slice.
 * Never: measures time itself (it reads what the peer recorded).
 */

export interface TimelineCommand {
  conn: number;
  line: string;
  at: number;
}
export interface TimelineMessage {
  conn: number;
  at: number;
}

export interface Timeline {
  perMsg: Record<string, number>;
  gapsMs: { rsetToMail: number; mailToData: number; dataToDot: number; dotToNext: number };
  busySessions: number;
  maxActiveConns: number;
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
};

export function sessionTimeline(cmds: TimelineCommand[], msgs: TimelineMessage[]): Timeline {
  const perMsg: Record<string, number> = {};
  for (const c of cmds) {
    const verb = c.line.split(/[\s:]/)[0]?.toUpperCase() ?? '';
    if (['RSET', 'EHLO', 'STARTTLS', 'QUIT', 'NOOP'].includes(verb)) perMsg[verb] = (perMsg[verb] ?? 0) + 1;
  }
  for (const k of Object.keys(perMsg)) perMsg[k] = (perMsg[k] ?? 0) / Math.max(1, msgs.length);
  // Per connection: its commands and message ends in time order.
  type Ev = { at: number; kind: string };
  const byConn = new Map<number, Ev[]>();
  const add = (conn: number, e: Ev) => {
    const l = byConn.get(conn);
    if (l === undefined) byConn.set(conn, [e]);
    else l.push(e);
  };
  for (const c of cmds) add(c.conn, { at: c.at, kind: c.line.split(/[\s:]/)[0]?.toUpperCase() ?? '' });
  for (const m of msgs) add(m.conn, { at: m.at, kind: '.' });
  const rsetToMail: number[] = [];
  const mailToData: number[] = [];
  const dataToDot: number[] = [];
  const dotToNext: number[] = [];
  let busyMs = 0;
  for (const evs of byConn.values()) {
    evs.sort((a, b) => a.at - b.at || (a.kind === '.' ? -1 : 1));
    let txStart: number | undefined;
    let mail: number | undefined;
    let data: number | undefined;
    for (let i = 0; i < evs.length; i++) {
      const e = evs[i] as Ev;
      const prev = evs[i - 1];
      if (e.kind === 'RSET' || (e.kind === 'MAIL' && txStart === undefined)) txStart = e.at;
      if (e.kind === 'MAIL') {
        mail = e.at;
        if (prev?.kind === 'RSET') rsetToMail.push(e.at - prev.at);
      }
      if (e.kind === 'DATA') {
        data = e.at;
        if (mail !== undefined) mailToData.push(e.at - mail);
      }
      if (e.kind === '.') {
        if (data !== undefined) dataToDot.push(e.at - data);
        if (txStart !== undefined) busyMs += e.at - txStart;
        const next = evs[i + 1];
        if (next !== undefined && next.kind !== 'QUIT') dotToNext.push(next.at - e.at);
        txStart = undefined;
        mail = undefined;
        data = undefined;
      }
    }
  }
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = 0;
  for (const x of [...cmds, ...msgs]) {
    t0 = Math.min(t0, x.at);
    t1 = Math.max(t1, x.at);
  }
  const slices = new Map<number, Set<number>>();
  for (const c of cmds) {
    const k = Math.floor((c.at - t0) / 100);
    const s = slices.get(k);
    if (s === undefined) slices.set(k, new Set([c.conn]));
    else s.add(c.conn);
  }
  return {
    perMsg,
    gapsMs: {
      rsetToMail: median(rsetToMail),
      mailToData: median(mailToData),
      dataToDot: median(dataToDot),
      dotToNext: median(dotToNext),
    },
    busySessions: t1 > t0 ? busyMs / (t1 - t0) : 0,
    maxActiveConns: [...slices.values()].reduce((m, s) => Math.max(m, s.size), 0),
  };
}

export function formatTimeline(t: Timeline): string {
  const per = Object.entries(t.perMsg)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
  const g = t.gapsMs;
  return (
    `per msg: ${per || '–'}; median gaps ms: RSET→MAIL ${g.rsetToMail}, MAIL→DATA ${g.mailToData}, ` +
    `DATA→dot ${g.dataToDot}, dot→next ${g.dotToNext}; sessions in a transaction ${t.busySessions.toFixed(1)}, ` +
    `most connections active in 100 ms ${t.maxActiveConns}`
  );
}
