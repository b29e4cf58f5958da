/**
 * A raw DNS client for DNSSEC-aware lookups (DANE, RFC 7672): one question to a configured
 * validating resolver over UDP, retried over TCP when the answer is truncated, reading the AD
 * ("authenticated data") bit that says the resolver validated the answer.
 *
 * Decides: the query (RD, AD and EDNS0 with DO set, 1232-byte UDP payload), the resolver order
 * (each configured server in turn, `tries` rounds), the per-try timeout, and the result shape:
 * rcode name, AD, answers of the asked type. A resolver that answers SERVFAIL, or none that
 * answers in time, is a `temp` failure (the caller must not treat it as "no records").
 * Never: validates signatures itself (that is the resolver's job: only AD is trusted, so the
 * resolver must be local or reached over a trusted path), follows CNAMEs, caches.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';

export interface RawDnsOptions {
  /** "ip" or "ip:port" (IPv4) or "[ipv6]:port". */
  servers: string[];
  timeoutMs: number;
  tries: number;
}

export type RawDnsResult =
  | { ok: true; rcode: string; ad: boolean; answers: dnsPacket.Answer[] }
  | { ok: false; temp: true; reason: string };

function parseServer(s: string): { host: string; port: number; family: 4 | 6 } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s.trim());
  if (v6?.[1] !== undefined) return { host: v6[1], port: Number(v6[2] ?? 53), family: 6 };
  const [host = '', port] = s.trim().split(':');
  return { host, port: Number(port ?? 53), family: 4 };
}

function queryPacket(name: string, type: dnsPacket.RecordType, id: number): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA,
    questions: [{ type, name, class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: dnsPacket.DNSSEC_OK,
        flag_do: true,
        options: [],
      },
    ],
  });
}

function udpQuery(
  server: ReturnType<typeof parseServer>,
  msg: Buffer,
  timeoutMs: number,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (b: Buffer | undefined): void => {
      clearTimeout(timer);
      sock.close();
      resolve(b);
    };
    sock.on('error', () => done(undefined));
    sock.on('message', (b: Buffer) => done(b));
    sock.send(msg, server.port, server.host);
  });
}

function tcpQuery(
  server: ReturnType<typeof parseServer>,
  msg: Buffer,
  timeoutMs: number,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (b: Buffer | undefined): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(b);
    };
    sock.on('error', () => done(undefined));
    sock.on('connect', () => {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(msg.length);
      sock.write(Buffer.concat([head, msg]));
    });
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0))
        done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.on('close', () => done(undefined));
  });
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** One DNSSEC-aware lookup. */
export async function rawLookup(
  opts: RawDnsOptions,
  name: string,
  type: dnsPacket.RecordType,
  random: () => number = Math.random,
): Promise<RawDnsResult> {
  const servers = opts.servers.map(parseServer);
  if (servers.length === 0) return { ok: false, temp: true, reason: 'no validating resolver configured' };
  let reason = 'no answer';
  for (let round = 0; round < Math.max(1, opts.tries); round++) {
    for (const server of servers) {
      const id = Math.floor(random() * 65536);
      const msg = queryPacket(name, type, id);
      let raw = await udpQuery(server, msg, opts.timeoutMs);
      let packet: dnsPacket.DecodedPacket | undefined;
      try {
        packet = raw === undefined ? undefined : dnsPacket.decode(raw);
        if (packet !== undefined && ((packet.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE) !== 0) {
          raw = await tcpQuery(server, msg, opts.timeoutMs);
          packet = raw === undefined ? undefined : dnsPacket.decode(raw);
        }
      } catch {
        packet = undefined;
        reason = 'malformed answer';
      }
      if (packet === undefined || packet.id !== id) continue;
      const rcode = RCODE_NAMES[(packet.flags ?? 0) & 0xf] ?? 'OTHER';
      if (rcode === 'SERVFAIL') {
        reason = 'SERVFAIL';
        continue;
      }
      const ad = ((packet.flags ?? 0) & dnsPacket.AUTHENTIC_DATA) !== 0;
      const answers = (packet.answers ?? []).filter((a) => a.type === type);
      return { ok: true, rcode, ad, answers };
    }
  }
  return { ok: false, temp: true, reason };
}
