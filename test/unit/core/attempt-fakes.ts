/**
 * Fakes for the attempt unit tests: a zone-map DnsPort and a scripted SmtpConnector whose
 * sessions answer per recipient as told. No sockets.
 */
import type {
  DnsAnswer,
  DnsPort,
  DnsType,
  HandshakeParams,
  RecipientReply,
  SessionState,
  SmtpConnector,
  SmtpSession,
  TransactionRequest,
  TransactionResult,
} from '../../../src/core/ports.ts';
import type { DeliveryFailure, Endpoint, SmtpReply } from '../../../src/core/types.ts';
import { namaddr } from '../../../src/core/types.ts';

export type Zone = Record<
  string,
  { MX?: Array<[number, string]>; A?: string[]; AAAA?: string[]; fail?: 'NOTFOUND' | 'RETRY' }
>;

export function fakeDns(zone: Zone): DnsPort & { queries: string[] } {
  const queries: string[] = [];
  const text = (name: string, type: DnsType, t: string) =>
    `Host or domain name not found. Name service error for name=${name} type=${type}: ${t}`;
  return {
    queries,
    async lookup(name: string, type: DnsType): Promise<DnsAnswer> {
      queries.push(`${name} ${type}`);
      const rr = zone[name.toLowerCase()];
      if (rr === undefined) return { class: 'NOTFOUND', type, text: text(name, type, 'Host not found') };
      if (rr.fail === 'RETRY')
        return { class: 'RETRY', type, text: text(name, type, 'Host not found, try again') };
      const nodata = {
        class: 'NOTFOUND' as const,
        type,
        text: text(name, type, 'Host found but no data record of requested type'),
      };
      if (type === 'MX') {
        return rr.MX
          ? { class: 'OK', type, records: rr.MX.map(([preference, exchange]) => ({ preference, exchange })) }
          : nodata;
      }
      if (type === 'A' || type === 'AAAA') {
        const addrs = rr[type];
        return addrs ? { class: 'OK', type, addresses: addrs } : nodata;
      }
      return nodata;
    },
  };
}

export function reply(line: string): SmtpReply {
  const code = Number(line.slice(0, 3));
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})/.exec(line);
  const status = m?.[1] !== undefined && m[1][0] === line[0] ? m[1] : `${line[0]}.0.0`;
  return { code, status, enhanced: m !== null, lines: [line], text: line };
}

export function saidFailure(
  ep: Pick<Endpoint, 'host' | 'address'>,
  line: string,
  command: string,
): DeliveryFailure {
  const r = reply(line);
  return {
    handler: command === 'RCPT TO' ? 'rcpt' : 'mesg',
    status: r.status,
    text: `host ${namaddr(ep)} said: ${line} (in reply to ${command} command)`,
    reply: r,
    command,
    remoteMta: ep.host,
    throttle: false,
  };
}

export function siteFailure(ep: Pick<Endpoint, 'host' | 'address'>, line: string): DeliveryFailure {
  const r = reply(line);
  return {
    handler: 'site',
    status: r.status,
    text: `host ${namaddr(ep)} refused to talk to me: ${line}`,
    reply: r,
    remoteMta: ep.host,
    throttle: true,
  };
}

export function lostFailure(ep: Pick<Endpoint, 'host' | 'address'>, stage: string): DeliveryFailure {
  return {
    handler: 'stream',
    status: '4.4.2',
    text: `lost connection with ${namaddr(ep)} while ${stage}`,
    throttle: true,
    dontCache: true,
  };
}

/** How one server behaves; keyed by IP address (or socket path). */
export interface ServerScript {
  refuse?: boolean;
  handshake?: (ep: Endpoint, p: HandshakeParams) => DeliveryFailure | undefined;
  /** Per-recipient answer; undefined → accepted. */
  rcpt?: (address: string, ep: Endpoint) => DeliveryFailure | undefined;
  /** A failure for every recipient (MAIL/DATA/stream). */
  bulk?: (ep: Endpoint, req: TransactionRequest) => DeliveryFailure | undefined;
  completeSession?: boolean;
  rsetFails?: boolean;
}

export interface FakeWorld {
  connector: SmtpConnector;
  connects: string[];
  handshakes: HandshakeParams[];
  transactions: Array<{ address: string; recipients: string[]; req: TransactionRequest }>;
  resets: number;
  /** Every recipient a session reported as accepted at end of data, in order. */
  delivered: string[];
  setScript(address: string, s: ServerScript): void;
}

export function fakeWorld(
  scripts: Record<string, ServerScript> = {},
  now: () => number = () => 0,
): FakeWorld {
  const world: FakeWorld = {
    connects: [],
    handshakes: [],
    transactions: [],
    resets: 0,
    delivered: [],
    setScript: (a, s) => {
      scripts[a] = s;
    },
    connector: {
      async connect({ endpoint }) {
        world.connects.push(endpoint.address);
        const script = scripts[endpoint.address] ?? {};
        if (script.refuse) {
          const where =
            endpoint.kind === 'unix' ? namaddr(endpoint) : `${namaddr(endpoint)}:${endpoint.port}`;
          return {
            ok: false,
            failure: {
              handler: 'sess',
              status: '4.4.1',
              text: `connect to ${where}: Connection refused`,
              throttle: true,
            },
          };
        }
        const conn = {
          endpoint,
          close() {},
          async handshake(p: HandshakeParams) {
            world.handshakes.push(p);
            const failure = scripts[endpoint.address]?.handshake?.(endpoint, p);
            if (failure !== undefined) return { ok: false as const, failure };
            return {
              ok: true as const,
              session: fakeSession(world, endpoint, p, () => scripts[endpoint.address] ?? {}, now),
            };
          },
        };
        return { ok: true, connection: conn };
      },
    },
  };
  return world;
}

function fakeSession(
  world: FakeWorld,
  endpoint: Endpoint,
  p: HandshakeParams,
  script: () => ServerScript,
  now: () => number,
): SmtpSession {
  const live = { open: true };
  const state: SessionState = {
    endpoint,
    protocol: p.protocol,
    serverName: endpoint.host,
    capabilities: { PIPELINING: '' },
    sizeLimit: 0,
    esmtp: true,
    tls: { active: false, level: p.tls.level },
    authenticated: false,
    reuseCount: 0,
    createdAt: now(),
    lastUsedAt: now(),
  };
  return {
    state,
    async transaction(req): Promise<TransactionResult> {
      const s = script();
      world.transactions.push({
        address: endpoint.address,
        recipients: req.recipients.map((r) => r.address),
        req,
      });
      const bulk = s.bulk?.(endpoint, req);
      const recipients: RecipientReply[] = req.recipients.map((r) => {
        if (bulk !== undefined) return { ok: false, failure: bulk };
        const f = s.rcpt?.(r.address, endpoint);
        return f === undefined
          ? { ok: true, reply: reply('250 2.0.0 Ok: queued as X') }
          : { ok: false, failure: f };
      });
      for (const [i, r] of recipients.entries())
        if (r.ok) world.delivered.push(req.recipients[i]?.address ?? '?');
      state.reuseCount++;
      const broken = bulk?.handler === 'stream';
      if (broken) live.open = false;
      return { recipients, completeSession: s.completeSession ?? !broken, reusable: !broken };
    },
    async reset() {
      world.resets++;
      return !(script().rsetFails ?? false);
    },
    async quit() {
      live.open = false;
    },
    close() {
      live.open = false;
    },
    isUsable: () => live.open,
  };
}
