/**
 * TCP (IPv4/IPv6) and UNIX-domain connect with a timeout and an optional source address.
 *
 * Decides: the source address (smtpBindAddress / smtpBindAddress6; a non-local one is ignored
 * with a warning, or is 4.4.0 "server configuration error" when enforced) and the 4.4.1 texts
 * "connect to H[A]:P: <strerror>" / "connect to H[path]: <strerror>".
 * Never: greets or speaks SMTP.
 */
import net from 'node:net';
import os from 'node:os';
import type { ConnectParams } from '../core/ports.ts';
import type { DeliveryFailure } from '../core/types.ts';
import { localFailure } from './failures.ts';

const STRERROR: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ETIMEDOUT: 'Connection timed out',
  ENOENT: 'No such file or directory',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ECONNRESET: 'Connection reset by peer',
  EACCES: 'Permission denied',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  ENOTSOCK: 'Socket operation on non-socket',
  EPIPE: 'Broken pipe',
  ECONNABORTED: 'Software caused connection abort',
};

export function strerror(code: string | undefined): string {
  return (code && STRERROR[code]) || (code ? `Unknown error (${code})` : 'Unknown error');
}

export function connectFailureText(p: ConnectParams, reason: string): string {
  const ep = p.endpoint;
  return ep.kind === 'unix'
    ? `connect to ${ep.host}[${ep.address}]: ${reason}`
    : `connect to ${ep.host}[${ep.address}]:${ep.port}: ${reason}`;
}

function isLocalAddress(addr: string): boolean {
  if (net.isIPv4(addr) && addr.startsWith('127.')) return true;
  if (addr === '::1' || addr === '0.0.0.0' || addr === '::') return true;
  const lower = addr.toLowerCase();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) if (i.address.toLowerCase() === lower) return true;
  }
  return false;
}

/** Source address for this endpoint, or a failure when an enforced bind address is not local. */
export function chooseBindAddress(
  p: ConnectParams,
  warn: (msg: string) => void,
): { ok: true; address?: string } | { ok: false; failure: DeliveryFailure } {
  if (p.endpoint.kind === 'unix') return { ok: true };
  const family = p.endpoint.family ?? (net.isIPv6(p.endpoint.address) ? 6 : 4);
  const addr = family === 6 ? p.bindAddress6 : p.bindAddress;
  if (!addr) return { ok: true };
  if (isLocalAddress(addr)) return { ok: true, address: addr };
  if (p.bindAddressEnforce) {
    warn(`smtp_bind_address${family === 6 ? '6' : ''}: ${addr} is not a local address`);
    return { ok: false, failure: localFailure('sess', '4.4.0', 'server configuration error') };
  }
  warn(`smtp_bind_address${family === 6 ? '6' : ''}: ${addr} is not a local address; using the default`);
  return { ok: true };
}

/** Connect; resolves with the socket or a 4.4.1 failure. */
export function openSocket(
  p: ConnectParams,
  localAddress: string | undefined,
): Promise<{ ok: true; socket: net.Socket } | { ok: false; failure: DeliveryFailure }> {
  const fail = (reason: string): { ok: false; failure: DeliveryFailure } => ({
    ok: false,
    failure: localFailure('sess', '4.4.1', connectFailureText(p, reason)),
  });
  if (p.signal?.aborted) return Promise.resolve(fail('Operation canceled'));
  return new Promise((resolve) => {
    const ep = p.endpoint;
    const socket =
      ep.kind === 'unix'
        ? net.connect({ path: ep.address })
        : net.connect({
            host: ep.address,
            port: ep.port,
            family: ep.family ?? (net.isIPv6(ep.address) ? 6 : 4),
            ...(localAddress ? { localAddress } : {}),
          });
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: { ok: true; socket: net.Socket } | { ok: false; failure: DeliveryFailure }): void => {
      if (timer) clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      p.signal?.removeEventListener('abort', onAbort);
      if (!r.ok) socket.destroy();
      resolve(r);
    };
    const onConnect = (): void => {
      socket.setNoDelay(true);
      finish({ ok: true, socket });
    };
    const onError = (e: NodeJS.ErrnoException): void => finish(fail(strerror(e.code)));
    const onAbort = (): void => finish(fail('Operation canceled'));
    socket.once('connect', onConnect);
    socket.once('error', onError);
    p.signal?.addEventListener('abort', onAbort, { once: true });
    if (p.connectTimeoutMs > 0)
      timer = setTimeout(() => finish(fail('Connection timed out')), p.connectTimeoutMs);
  });
}
