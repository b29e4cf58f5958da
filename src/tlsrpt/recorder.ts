/**
 * The TlsRptPort adapter: each counted TLS session goes to the store under today's UTC day.
 * Never: blocks delivery (writes are not awaited by the attempt; a failed write is logged).
 */
import type { Clock, Logger } from '../core/ports.ts';
import type { TlsRptPort } from '../core/tlsrpt.ts';
import { utcDay } from './send.ts';
import type { TlsRptStore } from './store.ts';

export function createTlsRptRecorder(store: TlsRptStore, clock: Clock, logger: Logger): TlsRptPort {
  return {
    record(domain, policy, outcome) {
      store.add(utcDay(clock.now()), domain.toLowerCase(), policy, outcome).catch((e: unknown) => {
        logger.warn({ event: 'tlsrpt', domain, err: String(e) }, `TLSRPT ${domain}: session not counted`);
      });
    },
  };
}
