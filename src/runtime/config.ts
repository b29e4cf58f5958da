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
import { checkOptions, checkOptionValue as checkSchemaValue } from '../core/option-schema.ts';
import { DEFAULT_OPTIONS, type DeliveryOptionsInput } from '../core/options.ts';

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** The problem with one option value, or undefined when it looks right (core/option-schema.ts). */
export function checkOptionValue(key: string, value: unknown): string | undefined {
  return checkSchemaValue(key, value, DEFAULT_OPTIONS);
}

/** Validate a parsed JSON value as options; throws an Error naming the key and `source`. */
export function parseConfigObject(raw: unknown, source: string): DeliveryOptionsInput {
  if (!isPlainObject(raw)) throw new Error(`${source}: configuration must be a JSON object`);
  for (const [key, value] of Object.entries(raw)) {
    if (!Object.hasOwn(DEFAULT_OPTIONS, key)) throw new Error(`${source}: unknown option "${key}"`);
    const problem = checkOptionValue(key, value);
    if (problem !== undefined) throw new Error(`${source}: bad value for option "${key}": ${problem}`);
  }
  const whole = checkOptions(raw, DEFAULT_OPTIONS);
  if (whole !== undefined) throw new Error(`${source}: ${whole}`);
  return raw as DeliveryOptionsInput;
}

/** The configuration file does not exist (commands exit 66, EX_NOINPUT). */
export class ConfigFileMissing extends Error {
  constructor(path: string, why: string) {
    super(`${path}: cannot read configuration: ${why}`);
    this.name = 'ConfigFileMissing';
  }
}

/** Read a JSON configuration file; throws an Error naming the file and the bad key. */
export async function loadConfigFile(path: string): Promise<DeliveryOptionsInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ConfigFileMissing(path, 'no such file');
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
