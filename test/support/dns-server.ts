/**
 * An authoritative DNS server for tests: UDP and TCP on 127.0.0.1, one random port for both.
 *
 * Decides: answers from a ZoneFixture (names lower-case, no trailing dot). An absent name is
 * NXDOMAIN; a present name without the asked type is NODATA (NOERROR, no answer); `rcode` on a
 * name applies to every type; `ttl` sets the records' TTL (default 60 s); `byType` overrides
 * per type (DROP = never answer, so the client times out). A CNAME at the name answers any type other than CNAME with the CNAME plus, when the
 * target is in the zone, the target's records of that type (chains followed up to 8 links).
 * Answers carry AA. A UDP answer longer than 512 bytes to a query without EDNS is truncated (TC)
 * so clients retry over TCP. Every query is recorded in `queries` (name lower-case, type).
 * DNSSEC stand-in (for DANE tests): a query with the DO or AD bit gets AD in the answer, as from
 * a validating resolver, unless the server was started with `{ validating: false }` or the name
 * is marked `insecure` (then the answer is "insecure": no AD). TLSA records are served as given.
 * Never: recurses, forwards, or listens on anything but 127.0.0.1.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';

type FailRcode = 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'FORMERR' | 'NOTIMP';
type ByTypeKey = 'MX' | 'A' | 'AAAA' | 'SRV' | 'TXT' | 'TLSA';

export type ZoneRecordSet = {
  MX?: Array<[number, string]>;
  A?: string[];
  AAAA?: string[];
  CNAME?: string;
  TXT?: string[];
  SRV?: Array<[number, number, number, string]>;
  /** [usage, selector, matching type, association data as hex]. */
  TLSA?: Array<[number, number, number, string]>;
  /** Answers for this name never carry AD (an unsigned zone behind a validating resolver). */
  insecure?: boolean;
  /** For every type at this name. */
  rcode?: FailRcode;
  /** TTL (seconds) of every record at this name; default 60. */
  ttl?: number;
  /** Per-type outcome; DROP = never answer (timeout). */
  byType?: Partial<Record<ByTypeKey, 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'NODATA' | 'DROP'>>;
};
/** Keys: lower-case names without trailing dot. */
export type ZoneFixture = Record<string, ZoneRecordSet>;

export interface DnsServer {
  host: string;
  port: number;
  /** "127.0.0.1:PORT", for dnsServers / Resolver.setServers. */
  server: string;
  setZone(z: ZoneFixture): void;
  queries: Array<{ name: string; type: string }>;
  stop(): Promise<void>;
}

const RCODES: Record<FailRcode | 'NOERROR', number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};
const TTL = 60;
const MAX_CNAME_LINKS = 8;

type Outcome = { drop: true } | { drop: false; rcode: number; answers: dnsPacket.Answer[] };

const norm = (name: string): string => name.toLowerCase().replace(/\.$/, '');

function txtChunks(s: string): Buffer[] {
  const b = Buffer.from(s, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < b.length || out.length === 0; i += 255) out.push(b.subarray(i, i + 255));
  return out;
}

function recordsOf(name: string, set: ZoneRecordSet, type: string): dnsPacket.Answer[] {
  const base = { name, ttl: set.ttl ?? TTL, class: 'IN' as const };
  switch (type) {
    case 'A':
      return (set.A ?? []).map((data) => ({ ...base, type: 'A', data }));
    case 'AAAA':
      return (set.AAAA ?? []).map((data) => ({ ...base, type: 'AAAA', data }));
    case 'MX':
      return (set.MX ?? []).map(([preference, exchange]) => ({
        ...base,
        type: 'MX',
        data: { preference, exchange },
      }));
    case 'SRV':
      return (set.SRV ?? []).map(([priority, weight, port, target]) => ({
        ...base,
        type: 'SRV',
        data: { priority, weight, port, target },
      }));
    case 'TXT':
      return (set.TXT ?? []).map((s) => ({ ...base, type: 'TXT', data: txtChunks(s) }));
    case 'CNAME':
      return set.CNAME === undefined ? [] : [{ ...base, type: 'CNAME', data: set.CNAME }];
    case 'TLSA':
      return (set.TLSA ?? []).map(([usage, selector, matchingType, hex]) => ({
        ...base,
        type: 'TLSA',
        data: { usage, selector, matchingType, certificate: Buffer.from(hex, 'hex') },
      }));
    default:
      return [];
  }
}

/** The fixture's answer for one question. */
export function answerFor(zone: ZoneFixture, qname: string, type: string): Outcome {
  const name = norm(qname);
  const set = zone[name];
  if (set === undefined) return { drop: false, rcode: RCODES.NXDOMAIN, answers: [] };
  if (set.rcode !== undefined) return { drop: false, rcode: RCODES[set.rcode], answers: [] };
  const special = set.byType?.[type as ByTypeKey];
  if (special === 'DROP') return { drop: true };
  if (special === 'NODATA') return { drop: false, rcode: RCODES.NOERROR, answers: [] };
  if (special !== undefined) return { drop: false, rcode: RCODES[special], answers: [] };
  if (set.CNAME === undefined || type === 'CNAME') {
    return { drop: false, rcode: RCODES.NOERROR, answers: recordsOf(name, set, type) };
  }
  return followCname(zone, name, set, type);
}

function followCname(zone: ZoneFixture, name: string, set: ZoneRecordSet, type: string): Outcome {
  const answers: dnsPacket.Answer[] = [];
  let curName = name;
  let cur: ZoneRecordSet | undefined = set;
  for (let i = 0; i < MAX_CNAME_LINKS && cur?.CNAME !== undefined; i++) {
    answers.push(...recordsOf(curName, cur, 'CNAME'));
    curName = norm(cur.CNAME);
    cur = zone[curName];
  }
  if (
    cur !== undefined &&
    cur.CNAME === undefined &&
    cur.rcode === undefined &&
    cur.byType?.[type as ByTypeKey] === undefined
  ) {
    answers.push(...recordsOf(curName, cur, type));
  }
  return { drop: false, rcode: RCODES.NOERROR, answers };
}

function respond(
  zone: ZoneFixture,
  msg: Buffer,
  queries: DnsServer['queries'],
  udp: boolean,
  validating = true,
): Buffer | undefined {
  let query: dnsPacket.Packet;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    return undefined;
  }
  const q = query.questions?.[0];
  const reply = (rcode: number, answers: dnsPacket.Answer[], tc = false): Buffer => {
    const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
    const asked =
      ((query.flags ?? 0) & dnsPacket.AUTHENTIC_DATA) !== 0 ||
      (query.additionals ?? []).some((a) => a.type === 'OPT' && ((a.flags ?? 0) & dnsPacket.DNSSEC_OK) !== 0);
    const secure = validating && asked && q !== undefined && zone[norm(q.name)]?.insecure !== true;
    const ad = secure && rcode !== RCODES.SERVFAIL ? dnsPacket.AUTHENTIC_DATA : 0;
    const flags = dnsPacket.AUTHORITATIVE_ANSWER | rd | rcode | ad | (tc ? dnsPacket.TRUNCATED_RESPONSE : 0);
    return dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags,
      questions: query.questions ?? [],
      answers,
    });
  };
  if (q === undefined) return reply(RCODES.FORMERR, []);
  queries.push({ name: norm(q.name), type: q.type });
  const out = answerFor(zone, q.name, q.type);
  if (out.drop) return undefined;
  const full = reply(out.rcode, out.answers);
  const edns = (query.additionals ?? []).some((a) => a.type === 'OPT');
  if (udp && !edns && full.length > 512) return reply(out.rcode, [], true);
  return full;
}

function serveTcp(socket: Socket, handle: (m: Buffer) => Buffer | undefined): void {
  let buf = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      const msg = buf.subarray(2, 2 + len);
      buf = buf.subarray(2 + len);
      const out = handle(msg);
      if (out === undefined) continue;
      const head = Buffer.alloc(2);
      head.writeUInt16BE(out.length);
      socket.write(Buffer.concat([head, out]));
    }
  });
}

async function bindBoth(
  host: string,
  fixedPort: number,
): Promise<{ udp: UdpSocket; tcp: Server; port: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(fixedPort, host, () => resolve());
    });
    const port = udp.address().port;
    const tcp = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, host, () => resolve(true));
    });
    if (ok) return { udp, tcp, port };
    udp.close();
  }
  throw new Error('dns-server: could not bind UDP and TCP on one port');
}

/**
 * Start the server; stop() closes both sockets and all TCP connections. `host`/`port` bind another
 * loopback address and/or a fixed port (e.g. 53, for resolvers that cannot take a port);
 * `validating: false` never sets AD (a non-validating resolver).
 */
export async function startDnsServer(
  zone: ZoneFixture,
  opts: { host?: string; port?: number; validating?: boolean } = {},
): Promise<DnsServer> {
  const state = { zone };
  const validating = opts.validating ?? true;
  const queries: DnsServer['queries'] = [];
  const host = opts.host ?? '127.0.0.1';
  const { udp, tcp, port } = await bindBoth(host, opts.port ?? 0);
  const conns = new Set<Socket>();
  udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const out = respond(state.zone, msg, queries, true, validating);
    if (out !== undefined) udp.send(out, rinfo.port, rinfo.address);
  });
  udp.on('error', () => undefined);
  tcp.on('connection', (s) => {
    conns.add(s);
    s.on('close', () => conns.delete(s));
    serveTcp(s, (m) => respond(state.zone, m, queries, false, validating));
  });
  return {
    host,
    port,
    server: `${host}:${port}`,
    queries,
    setZone(z: ZoneFixture) {
      state.zone = z;
    },
    async stop() {
      for (const s of conns) s.destroy();
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]);
    },
  };
}
