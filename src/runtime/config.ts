/**
 * Reads a JSON configuration file into delivery options.
 *
 * Decides: that every key is a known option (an unknown key is an Error naming it and the file),
 * and that every value has roughly the right type (string, number, boolean, string list, map,
 * duration, or one of an option's allowed words), so that mistakes surface at start-up with the
 * option's name rather than as odd delivery behaviour.
 * Never: fills defaults or converts durations (core/options.ts resolveOptions does), reads the
 * environment, logs option values (they may hold SASL passwords).
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_OPTIONS, type DeliveryOptionsInput, parseDurationMs } from '../core/options.ts';
import { TLS_LEVEL_NUMBER } from '../core/types.ts';

const DURATION_KEYS = new Set(
  Object.entries(DEFAULT_OPTIONS)
    .filter(([k, v]) => typeof v === 'string' && /^\d+[smhdw]$/.test(v) && k !== 'lmtpTcpPort')
    .map(([k]) => k),
);

const TLS_LEVELS = Object.keys(TLS_LEVEL_NUMBER);
const REQUIRETLS_POLICIES = ['disable', 'opportunistic', 'opportunistic+starttls', 'enforce'];

/** Options whose value is one of a few words. */
const ENUMS: Readonly<Record<string, readonly string[]>> = {
  inetProtocols: ['all', 'ipv4', 'ipv6'],
  smtpAddressPreference: ['any', 'ipv4', 'ipv6'],
  smtpDnsSupportLevel: ['disabled', 'enabled', 'dnssec'],
  smtpTlsSecurityLevel: TLS_LEVELS,
  lmtpTlsSecurityLevel: TLS_LEVELS,
};

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isStringArray = (x: unknown): x is string[] =>
  Array.isArray(x) && x.every((s) => typeof s === 'string');

/** Check map-valued options entry by entry; returns a problem text or undefined. */
function checkMapValues(key: string, value: Record<string, unknown>): string | undefined {
  for (const [k, v] of Object.entries(value)) {
    const where = `${key}["${k}"]`;
    if (key === 'knownTcpPorts' && !(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535)) {
      return `${where} must be a port number 1..65535`;
    }
    if (key === 'smtpRequiretlsPolicy' && !(typeof v === 'string' && REQUIRETLS_POLICIES.includes(v))) {
      return `${where} must be one of ${REQUIRETLS_POLICIES.join(', ')}`;
    }
    if (key === 'smtpSaslPasswordMaps') {
      if (!isPlainObject(v) || typeof v.username !== 'string' || typeof v.password !== 'string') {
        return `${where} must be { "username": string, "password": string }`;
      }
    }
    if (key === 'smtpTlsPolicyMaps') {
      if (!isPlainObject(v) || typeof v.level !== 'string' || !TLS_LEVELS.includes(v.level)) {
        return `${where}.level must be one of ${TLS_LEVELS.join(', ')}`;
      }
      for (const list of ['match', 'tafile'] as const) {
        if (v[list] !== undefined && !isStringArray(v[list]))
          return `${where}.${list} must be a list of strings`;
      }
      if (v.servername !== undefined && typeof v.servername !== 'string')
        return `${where}.servername must be a string`;
      if (v.connectionReuse !== undefined && typeof v.connectionReuse !== 'boolean') {
        return `${where}.connectionReuse must be true or false`;
      }
      const unknown = Object.keys(v).find(
        (a) => !['level', 'match', 'servername', 'tafile', 'connectionReuse'].includes(a),
      );
      if (unknown !== undefined) return `${where} has an unknown attribute "${unknown}"`;
    }
  }
  return undefined;
}

/** The problem with one option value, or undefined when it looks right. */
export function checkOptionValue(key: string, value: unknown): string | undefined {
  const def: unknown = (DEFAULT_OPTIONS as Record<string, unknown>)[key];
  if (DURATION_KEYS.has(key)) {
    if (typeof value !== 'number' && typeof value !== 'string')
      return `${key} must be a time value (seconds or "30s", "5m", ...)`;
    try {
      parseDurationMs(value, key);
    } catch (e) {
      return (e as Error).message;
    }
    return undefined;
  }
  const words = ENUMS[key];
  if (words !== undefined) {
    return typeof value === 'string' && words.includes(value)
      ? undefined
      : `${key} must be one of ${words.join(', ')}`;
  }
  if (Array.isArray(def)) return isStringArray(value) ? undefined : `${key} must be a list of strings`;
  if (isPlainObject(def))
    return isPlainObject(value) ? checkMapValues(key, value) : `${key} must be an object`;
  if (typeof def === 'number') {
    return typeof value === 'number' && Number.isFinite(value) && value >= 0
      ? undefined
      : `${key} must be a number ≥ 0`;
  }
  if (typeof def === 'boolean')
    return typeof value === 'boolean' ? undefined : `${key} must be true or false`;
  return typeof value === 'string' ? undefined : `${key} must be a string`;
}

/** Validate a parsed JSON value as options; throws an Error naming the key and `source`. */
export function parseConfigObject(raw: unknown, source: string): DeliveryOptionsInput {
  if (!isPlainObject(raw)) throw new Error(`${source}: configuration must be a JSON object`);
  for (const [key, value] of Object.entries(raw)) {
    if (!Object.hasOwn(DEFAULT_OPTIONS, key)) throw new Error(`${source}: unknown option "${key}"`);
    const problem = checkOptionValue(key, value);
    if (problem !== undefined) throw new Error(`${source}: bad value for option "${key}": ${problem}`);
  }
  return raw as DeliveryOptionsInput;
}

/** Read a JSON configuration file; throws an Error naming the file and the bad key. */
export async function loadConfigFile(path: string): Promise<DeliveryOptionsInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read configuration: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: invalid JSON: ${(e as Error).message}`);
  }
  return parseConfigObject(raw, path);
}
