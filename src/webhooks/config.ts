/**
 * The webhook endpoints of `mxq webhooks`: a JSON file
 * `{ "endpoints": [{ "name", "url", "secret" | "secretEnv", "events"?, "timeoutMs"? }] }`.
 *
 * Decides: what is valid (name [A-Za-z0-9_-]{1,64}, unique; http(s) URL; secret of 16+ characters,
 * given inline or by environment variable name; events from sent/deferred/bounced/expired/delayed,
 * default all) with an error naming the field (`endpoints[1].url`).
 * Never: reads the secret into logs or error messages.
 */
import { readFile } from 'node:fs/promises';
import type { DeliveryEvent } from '../queue/job-schema.ts';

export interface WebhookEndpoint {
  name: string;
  url: string;
  secret: string;
  /** Event kinds sent to this endpoint (the others are acknowledged without a POST). */
  events: ReadonlySet<DeliveryEvent['event']>;
  timeoutMs: number;
}

export class WebhookConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'WebhookConfigError';
    this.field = field;
  }
}

const KINDS: ReadonlySet<string> = new Set(['sent', 'deferred', 'bounced', 'expired', 'delayed']);
type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

function endpoint(x: unknown, f: string, env: NodeJS.ProcessEnv): WebhookEndpoint {
  if (!isObj(x)) throw new WebhookConfigError(f, 'must be an object');
  const name = x.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(name))
    throw new WebhookConfigError(`${f}.name`, 'must be 1-64 characters of A-Z a-z 0-9 _ -');
  let url: URL;
  try {
    url = new URL(String(x.url));
  } catch {
    throw new WebhookConfigError(`${f}.url`, 'is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new WebhookConfigError(`${f}.url`, 'must be http: or https:');
  let secret = x.secret;
  if (secret === undefined && typeof x.secretEnv === 'string') {
    secret = env[x.secretEnv];
    if (secret === undefined) throw new WebhookConfigError(`${f}.secretEnv`, `${x.secretEnv} is not set`);
  }
  if (typeof secret !== 'string' || secret.length < 16)
    throw new WebhookConfigError(
      `${f}.secret`,
      'must be a string of at least 16 characters (or give secretEnv)',
    );
  let events: ReadonlySet<DeliveryEvent['event']> = KINDS as ReadonlySet<DeliveryEvent['event']>;
  if (x.events !== undefined) {
    if (!Array.isArray(x.events) || x.events.length === 0)
      throw new WebhookConfigError(`${f}.events`, 'must be a non-empty list');
    for (const [i, e] of x.events.entries())
      if (typeof e !== 'string' || !KINDS.has(e))
        throw new WebhookConfigError(
          `${f}.events[${i}]`,
          'must be sent, deferred, bounced, expired or delayed',
        );
    events = new Set(x.events as DeliveryEvent['event'][]);
  }
  const timeoutMs = x.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 100 && timeoutMs <= 300_000))
    throw new WebhookConfigError(`${f}.timeoutMs`, 'must be a number from 100 to 300000');
  return { name, url: url.toString(), secret, events, timeoutMs };
}

export function parseWebhookConfig(x: unknown, env: NodeJS.ProcessEnv = process.env): WebhookEndpoint[] {
  if (!isObj(x)) throw new WebhookConfigError('config', 'must be a JSON object');
  if (!Array.isArray(x.endpoints) || x.endpoints.length === 0)
    throw new WebhookConfigError('endpoints', 'must be a non-empty list');
  const out = x.endpoints.map((e, i) => endpoint(e, `endpoints[${i}]`, env));
  const seen = new Set<string>();
  out.forEach((e, i) => {
    if (seen.has(e.name)) throw new WebhookConfigError(`endpoints[${i}].name`, `duplicate name "${e.name}"`);
    seen.add(e.name);
  });
  return out;
}

export async function loadWebhookConfig(path: string): Promise<WebhookEndpoint[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new WebhookConfigError(
      '--config',
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WebhookConfigError('--config', `${path} is not valid JSON`);
  }
  return parseWebhookConfig(json);
}
