/**
 * docs/configuration.md stays true to the options: every option in DEFAULT_OPTIONS has a row in
 * the options table, every row names a real option, and a row's default matches the code for the
 * simple kinds (numbers, booleans, words, lists, empty words and tables). Adding an option
 * without documenting it fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../../../src/core/options.ts';

const doc = readFileSync(join(import.meta.dirname, '../../../docs/configuration.md'), 'utf8');
const rows = [...doc.matchAll(/^\| `([A-Za-z0-9]+)` \| ([^|]*) \| ([^|]*) \|/gm)].map((m) => ({
  key: m[1] ?? '',
  postfix: (m[2] ?? '').trim(),
  def: (m[3] ?? '').trim(),
}));

it('every option has a row in docs/configuration.md, and every row is an option', () => {
  const documented = new Set(rows.map((r) => r.key));
  const options = Object.keys(DEFAULT_OPTIONS);
  expect(options.filter((k) => !documented.has(k))).toEqual([]);
  expect([...documented].filter((k) => !Object.hasOwn(DEFAULT_OPTIONS, k))).toEqual([]);
});

it('documented defaults of numbers, booleans and words match the code', () => {
  const wrong: string[] = [];
  for (const r of rows) {
    const v: unknown = (DEFAULT_OPTIONS as Record<string, unknown>)[r.key];
    if (typeof v !== 'number' && typeof v !== 'boolean' && !(typeof v === 'string' && v !== '')) continue;
    // The cell starts with the default in backticks (possibly bold), e.g. `300s`, **`true`**.
    const m = /`([^`]*)`/.exec(r.def);
    if (m?.[1] !== String(v)) wrong.push(`${r.key}: doc ${r.def} vs code ${String(v)}`);
  }
  expect(wrong).toEqual([]);
});

it('documented defaults of lists, empty words and empty tables match the code', () => {
  // `[a, b]` for lists, `''` for an empty word, `{}` for an empty table. smtpHeloName is written
  // Postfix's way (`$myhostname`) and knownTcpPorts as name=port pairs, so they are left out;
  // test processes widen smtpAddressAllowlist to loopback (test/support/allow-loopback.ts).
  const render = (v: unknown): string | undefined => {
    if (Array.isArray(v)) return `[${v.map(String).join(', ')}]`;
    if (v === '') return "''";
    if (typeof v === 'object' && v !== null && Object.keys(v).length === 0) return '{}';
    return undefined;
  };
  const wrong: string[] = [];
  for (const r of rows) {
    if (r.key === 'smtpHeloName' || r.key === 'smtpAddressAllowlist') continue;
    const want = render((DEFAULT_OPTIONS as Record<string, unknown>)[r.key]);
    if (want === undefined) continue;
    const m = /`([^`]*)`/.exec(r.def);
    if (m?.[1] !== want) wrong.push(`${r.key}: doc ${r.def} vs code ${want}`);
  }
  expect(wrong).toEqual([]);
});
