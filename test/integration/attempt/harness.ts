/**
 * Shared set-up for the attempt scenario tests (spec §14): a loopback block, a real DNS server,
 * real SMTP peers on port 25 of the block's addresses, and a real delivery agent.
 */
import type { DeliveryOptionsInput } from '../../../src/core/options.ts';
import { resolveOptions } from '../../../src/core/options.ts';
import type { AttemptRequest, AttemptResult, RecipientResult } from '../../../src/core/types.ts';
import type { DeliveryAgent, DeliveryAgentDeps } from '../../../src/workers/agent.ts';
import { createDeliveryAgent } from '../../../src/workers/agent.ts';
import type { DnsServer, ZoneFixture } from '../../support/dns-server.ts';
import { startDnsServer } from '../../support/dns-server.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import type { PeerOptions, SmtpPeer } from '../../support/smtp-peer.ts';
import { startSmtpPeer } from '../../support/smtp-peer.ts';

export const PORT = 25;

export interface Scene {
  addr(n: number): string;
  dns: DnsServer;
  peers: SmtpPeer[];
  peer(n: number, opts?: PeerOptions): Promise<SmtpPeer>;
  agent(
    opts?: DeliveryOptionsInput,
    deps?: Omit<DeliveryAgentDeps, 'logger'>,
  ): { agent: DeliveryAgent; logs: () => string[] };
  close(): Promise<void>;
}

export async function scene(zone: (addr: (n: number) => string) => ZoneFixture): Promise<Scene> {
  const block = allocateLoopbackBlock();
  const dns = await startDnsServer(zone(block.addr));
  const peers: SmtpPeer[] = [];
  const agents: DeliveryAgent[] = [];
  return {
    addr: block.addr,
    dns,
    peers,
    async peer(n, opts = {}) {
      const p = await startSmtpPeer({ host: block.addr(n), port: PORT, ...opts });
      peers.push(p);
      return p;
    },
    agent(opts = {}, deps = {}) {
      const logger = memoryLogger();
      const agent = createDeliveryAgent(
        resolveOptions({
          dnsServers: [dns.server],
          dnsTimeout: '2s',
          dnsTries: 1,
          inetProtocols: 'ipv4',
          smtpRandomizeAddresses: false,
          smtpTlsSecurityLevel: 'none',
          smtpConnectTimeout: '3s',
          myhostname: 'client.test',
          ...opts,
        }),
        { ...deps, logger },
      );
      agents.push(agent);
      return { agent, logs: () => logger.records.map((r) => String(r.msg ?? '')) };
    },
    async close() {
      for (const a of agents) await a.close();
      for (const p of peers) await p.stop();
      await dns.stop();
      block.release();
    },
  };
}

export function message(extra = ''): Buffer {
  return Buffer.from(`From: s@client.test\r\nTo: a@example.test\r\nSubject: test\r\n\r\nhello${extra}\r\n`);
}

export function request(over: Partial<AttemptRequest> = {}): AttemptRequest {
  const msg = message();
  return {
    queueId: 'QID1',
    sender: 's@client.test',
    recipients: [{ address: 'a@example.test' }, { address: 'b@example.test' }],
    nexthop: 'example.test',
    protocol: 'smtp',
    message: msg,
    size: msg.length,
    arrivalTime: Date.now(),
    ...over,
  };
}

export function rcpt(result: AttemptResult, i: number): RecipientResult {
  const r = result.recipients[i];
  if (r === undefined) throw new Error(`no result for recipient #${i}`);
  return r;
}

/** "host[addr]" of each server tried, in order. */
export function order(result: AttemptResult): string[] {
  return result.servers.map((s) => `${s.host}[${s.addr}]`);
}
