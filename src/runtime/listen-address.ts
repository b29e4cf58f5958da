/**
 * Listen addresses of mxq's HTTP side-services (metrics, dashboard) and their bind policy.
 *
 * Decides: the syntax (`PORT`, `HOST:PORT`, `[IPv6]:PORT`; a bare port binds 127.0.0.1), what
 * counts as loopback (127.0.0.0/8, ::1, localhost), and the rule: a non-loopback bind needs a
 * token (bearer authentication); without one it is refused with an error naming the flag.
 * Never: opens sockets.
 */

export interface ListenAddress {
  host: string;
  port: number;
}

export class ListenConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ListenConfigError';
    this.field = field;
  }
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m?.slice(1).every((o) => Number(o) <= 255) === true;
}

/** Parses `9464`, `127.0.0.1:9464`, `[::1]:9464`, `0.0.0.0:9464`. Port 0 picks a free port. */
export function parseListen(value: string, field: string): ListenAddress {
  const bad = (why: string) => new ListenConfigError(field, `${why}: "${value}"`);
  let host = '127.0.0.1';
  let portText = value;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  if (v6 !== null) {
    host = v6[1] ?? host;
    portText = v6[2] ?? '';
  } else if (value.includes(':')) {
    const i = value.lastIndexOf(':');
    host = value.slice(0, i);
    portText = value.slice(i + 1);
    if (host === '' || host.includes(':')) throw bad('expected PORT, HOST:PORT or [IPv6]:PORT');
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw bad('not a port number');
  return { host, port: Number(portText) };
}

/** Refuses a non-loopback bind without a token; a token shorter than 16 characters is refused too. */
export function checkBindPolicy(
  addr: ListenAddress,
  token: string | undefined,
  field: string,
  tokenFlag: string,
) {
  if (token !== undefined && token.length < 16) {
    throw new ListenConfigError(tokenFlag, 'must be at least 16 characters');
  }
  if (!isLoopbackHost(addr.host) && token === undefined) {
    throw new ListenConfigError(
      field,
      `refusing to listen on non-loopback ${addr.host} without authentication (give ${tokenFlag})`,
    );
  }
}
