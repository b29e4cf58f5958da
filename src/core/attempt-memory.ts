/**
 * The cluster tier inside one list element of an attempt: one batched read of what the pool
 * remembers about the element's next-hop and endpoints, then the element's use of it (candidate
 * order, broken-TLS plaintext, TLS tickets) and the fire-and-forget writes of what it learned.
 *
 * Decides: nothing of its own: endpoint-memory.ts decides, this module applies the decisions to
 * one element with the option lifetimes (0 turns a kind of memory off) and logs them.
 * Never: waits on a write, fails an attempt because the store is unreachable (the store answers an
 * empty state), offers a ticket stored under another name or policy, touches unix endpoints.
 */
import {
  bindingKey,
  EMPTY_NEXTHOP_STATE,
  endpointKey,
  markForFailure,
  nexthopQuery,
  orderCandidates,
  plaintextFromMemory,
  shouldBind,
  ticketKey,
} from './endpoint-memory.ts';
import type { ResolvedOptions } from './options.ts';
import type { Logger, NexthopState, NexthopStateStore, SaslCredentials, TlsSettings } from './ports.ts';
import type { DeliveryFailure, Endpoint, Protocol, TlsLevel } from './types.ts';

export interface ElementMemory {
  /** The candidates in the order the memory asks for; `skipped` were left out as dead. */
  order(list: Endpoint[]): { list: Endpoint[]; skipped: Endpoint[] };
  /** A remembered broken-TLS endpoint at level may goes plaintext at once (see plaintextFromMemory). */
  plaintext(ep: Endpoint, p: { level: TlsLevel; sasl: boolean; requireTlsNeedsTls: boolean }): boolean;
  /** The TLS settings with the stored ticket for this exact name and policy, and a ticket sink. */
  withTicket(ep: Endpoint, tls: TlsSettings, sasl: SaslCredentials | undefined): TlsSettings;
  /** A connect or handshake failure at this endpoint. */
  failed(ep: Endpoint, failure: DeliveryFailure, policyLevel: TlsLevel): void;
  /** A completed handshake at this endpoint. */
  succeeded(ep: Endpoint): void;
}

export interface MemoryContext {
  store?: NexthopStateStore | undefined;
  opts: ResolvedOptions;
  protocol: Protocol;
  site: string;
  log: Logger;
}

function enabled(opts: ResolvedOptions): boolean {
  return (
    opts.smtpNexthopBindingTime > 0 ||
    opts.smtpDeadEndpointTime > 0 ||
    opts.smtpTlsBrokenEndpointTime > 0 ||
    opts.smtpTlsSessionCacheTimeout > 0
  );
}

/** Read the element's memory in one round trip (no read at all without a store or for unix). */
export async function loadElementMemory(
  ctx: MemoryContext,
  list: readonly Endpoint[],
  ticketKeyOf: (ep: Endpoint) => string | undefined,
): Promise<ElementMemory> {
  const { store, opts, protocol } = ctx;
  const inet = list.filter((ep) => ep.kind === 'inet');
  // One ticket key per endpoint and level in this element (the policy lookup is the same).
  const memo = new Map<string, string | undefined>();
  const memoKey = (ep: Endpoint, level: string): string => `${ep.host} ${ep.address} ${ep.port} ${level}`;
  let state: NexthopState = EMPTY_NEXTHOP_STATE;
  if (store !== undefined && inet.length > 0 && enabled(opts)) {
    const tickets =
      opts.smtpTlsSessionCacheTimeout > 0
        ? inet
            .map((ep) => {
              const k = ticketKeyOf(ep);
              memo.set(memoKey(ep, 'policy'), k);
              return k;
            })
            .filter((k): k is string => k !== undefined)
        : [];
    state = await store.read(nexthopQuery(protocol, ctx.site, inet, tickets));
  }
  return bindMemory(ctx, state, (ep, tls, sasl) => {
    const k = memoKey(ep, 'policy');
    // The batch keyed each endpoint under its policy level; a forced plaintext level has none.
    if (tls.level !== 'none' && memo.has(k)) return memo.get(k);
    return ticketKey(ep, tls, sasl);
  });
}

function bindMemory(
  ctx: MemoryContext,
  state: NexthopState,
  keyOf: (ep: Endpoint, tls: TlsSettings, sasl: SaslCredentials | undefined) => string | undefined,
): ElementMemory {
  const { store, opts, protocol, log } = ctx;
  let failedBefore = false;
  let bound = opts.smtpNexthopBindingTime > 0 ? state.bound : undefined;
  const dead = opts.smtpDeadEndpointTime > 0 ? state.dead : EMPTY_NEXTHOP_STATE.dead;
  const key = (ep: Endpoint): string => endpointKey(protocol, ep);
  return {
    order(list) {
      const view: NexthopState = { ...state, dead };
      if (bound === undefined) delete view.bound;
      else view.bound = bound;
      const o = orderCandidates(protocol, list, view);
      if (o.skipped.length > 0) failedBefore = true;
      for (const ep of o.skipped) {
        log.info(
          { event: 'endpoint-skipped-dead', server: ep.host, addr: ep.address, port: ep.port },
          'endpoint marked dead by the pool: skipped',
        );
      }
      if (o.boundFirst)
        log.debug({ event: 'nexthop-binding', nexthop: ctx.site, bound }, 'bound endpoint first');
      return { list: o.list, skipped: o.skipped };
    },
    plaintext(ep, p) {
      if (opts.smtpTlsBrokenEndpointTime <= 0 || ep.kind !== 'inet') return false;
      return plaintextFromMemory({ ...p, marked: state.brokenTls.has(key(ep)) });
    },
    withTicket(ep, tls, sasl) {
      if (store === undefined || opts.smtpTlsSessionCacheTimeout <= 0 || ep.kind !== 'inet') return tls;
      const tk = keyOf(ep, tls, sasl);
      if (tk === undefined) return tls;
      const ticket = state.tickets.get(tk);
      const ttl = opts.smtpTlsSessionCacheTimeout;
      return {
        ...tls,
        ...(ticket !== undefined ? { sessionTicket: ticket } : {}),
        onSessionTicket: (t: Buffer) => store.putTicket(tk, t, ttl),
      };
    },
    failed(ep, failure, policyLevel) {
      failedBefore = true;
      if (store === undefined || ep.kind !== 'inet') return;
      const mark = markForFailure(failure, policyLevel);
      if (mark === 'dead' && opts.smtpDeadEndpointTime > 0)
        store.markDead(key(ep), opts.smtpDeadEndpointTime);
      if (mark === 'broken-tls' && opts.smtpTlsBrokenEndpointTime > 0) {
        store.markBrokenTls(key(ep), opts.smtpTlsBrokenEndpointTime);
      }
    },
    succeeded(ep) {
      if (store === undefined || ep.kind !== 'inet') return;
      const k = key(ep);
      if (dead.has(k)) store.clearDead(k);
      if (opts.smtpNexthopBindingTime > 0 && shouldBind({ failedBefore, bound, endpoint: k })) {
        store.bind(bindingKey(protocol, ctx.site), k, opts.smtpNexthopBindingTime);
        bound = k;
      }
    },
  };
}
