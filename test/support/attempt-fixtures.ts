/**
 * Small fixtures for tests that run attempts under destination leases: a logger that drops every
 * line, a one-recipient attempt request to a next-hop, and the result of an attempt that sent
 * every recipient.
 *
 * Decides: only the shapes of these test values (recipient `u<n>@dst.test`, queue id `Q<n>`).
 * Never: touches Redis, sockets or time.
 */
import type { Logger } from '../../src/core/ports.ts';
import type { AttemptRequest, AttemptResult } from '../../src/core/types.ts';

/** A Logger that writes nothing (its children neither). */
export function quietLogger(): Logger {
  const quiet: Logger = {
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    debug: () => undefined,
    child: () => quiet,
  };
  return quiet;
}

/** Request number `n`: one recipient, a 3-byte message, to `nexthop`. */
export function attemptRequest(n: number, nexthop: string): AttemptRequest {
  return {
    queueId: `Q${n}`,
    sender: '',
    recipients: [{ address: `u${n}@dst.test` }],
    nexthop,
    protocol: 'smtp',
    message: Buffer.from('x\r\n'),
    size: 3,
    arrivalTime: Date.now(),
  };
}

/** Every recipient of `req` sent. */
export function sentResult(req: AttemptRequest): AttemptResult {
  return {
    recipients: req.recipients.map((r) => ({ recipient: r, status: 'sent' })) as AttemptResult['recipients'],
    servers: [],
  };
}
