/**
 * The TLS files a Redis URL may name: `rediss://…?tls_ca_file=/p/ca.pem&tls_cert_file=…&tls_key_file=…`
 * (also on `rediss-sentinel://` and `rediss-cluster://`), read into ioredis `tls: {ca, cert, key}`.
 *
 * Decides: the query parameters a Redis URL may carry (only these three, each at most once, only
 * with a TLS scheme, cert and key together); the errors, which name the parameter and file but
 * never a file's content or anything of the URL's user/password part.
 * Never: connects; logs; keeps what it read beyond the returned options.
 */
import { readFileSync } from 'node:fs';

export interface RedisTlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/** What ioredis takes as `tls` (a subset of node:tls ConnectionOptions). */
export interface RedisTlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const PARAMS: Record<string, keyof RedisTlsFiles> = {
  tls_ca_file: 'ca',
  tls_cert_file: 'cert',
  tls_key_file: 'key',
};

/** A Redis URL without its query, and the TLS files its query named. Throws RangeError. */
export function splitRedisUrlQuery(url: string): { url: string; files: RedisTlsFiles } {
  const q = url.indexOf('?');
  if (q < 0) return { url, files: {} };
  const base = url.slice(0, q);
  const query = url.slice(q + 1);
  const at = query.indexOf('@');
  if (at >= 0 && !query.slice(0, at).includes('/')) {
    // "rediss://:pa?ss@host": the '?' belongs to the password; say so without echoing any of it.
    throw new RangeError(
      "an '@' after the '?' of the Redis URL: write a '?' in the user or password as %3F (an '@' in a file name as %40)",
    );
  }
  if (query.includes('#')) throw new RangeError("a Redis URL takes no '#' fragment");
  if (!/^rediss(-sentinel|-cluster)?:\/\//i.test(base))
    throw new RangeError('query parameters (tls_ca_file, tls_cert_file, tls_key_file) need a rediss:// URL');
  const files: RedisTlsFiles = {};
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const field = Object.hasOwn(PARAMS, name) ? PARAMS[name] : undefined;
    if (field === undefined) {
      const shown = /^[A-Za-z0-9_.-]{1,40}$/.test(name) ? `"${name}"` : '(name not shown)';
      throw new RangeError(
        `unknown query parameter ${shown} in the Redis URL: only tls_ca_file, tls_cert_file, tls_key_file`,
      );
    }
    if (files[field] !== undefined) throw new RangeError(`${name} is given twice in the Redis URL`);
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    if (value === '') throw new RangeError(`${name} in the Redis URL names no file`);
    files[field] = value;
  }
  if ((files.cert === undefined) !== (files.key === undefined))
    throw new RangeError('tls_cert_file and tls_key_file go together in the Redis URL');
  return { url: base, files };
}

const NAME: Record<keyof RedisTlsFiles, string> = {
  ca: 'tls_ca_file',
  cert: 'tls_cert_file',
  key: 'tls_key_file',
};

/** Reads the named files. Throws RangeError naming the parameter, the path and the cause (never the content). */
export function readRedisTlsFiles(
  files: RedisTlsFiles,
  read: (path: string) => Buffer = readFileSync,
): RedisTlsMaterial {
  const out: RedisTlsMaterial = {};
  for (const field of ['ca', 'cert', 'key'] as const) {
    const path = files[field];
    if (path === undefined) continue;
    let data: Buffer;
    try {
      data = read(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : 'error');
      throw new RangeError(`cannot read ${NAME[field]} "${path}" of the Redis URL (${code})`);
    }
    if (data.length === 0) throw new RangeError(`${NAME[field]} "${path}" of the Redis URL is empty`);
    out[field] = data;
  }
  return out;
}

/** Whether the URL names any TLS file. */
export function hasTlsFiles(files: RedisTlsFiles): boolean {
  return files.ca !== undefined || files.cert !== undefined || files.key !== undefined;
}
