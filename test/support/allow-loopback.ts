/**
 * Test-wide address policy: tests run their "MX hosts" on 127.x.y.z (loopback allocator) and ::1,
 * which the address policy (src/core/address-policy.ts) refuses for recipient domains by default.
 * This file is the one place that allowlists the loopback ranges for tests: vitest loads it in
 * every test process (setupFiles), and it puts itself into NODE_OPTIONS so that child `mxq`
 * processes (workers, CLI) that the tests spawn get the same default.
 *
 * Decides: the default of smtpAddressAllowlist inside test processes only.
 * Never: used by src/; a test that passes smtpAddressAllowlist explicitly (e.g. []) overrides it.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_OPTIONS } from '../../src/core/options.ts';

export const TEST_ADDRESS_ALLOWLIST: readonly string[] = ['127.0.0.0/8', '::1'];

(DEFAULT_OPTIONS as { smtpAddressAllowlist: string[] }).smtpAddressAllowlist = [...TEST_ADDRESS_ALLOWLIST];

const self = pathToFileURL(fileURLToPath(import.meta.url)).href;
const flag = `--import=${self}`;
const current = process.env.NODE_OPTIONS ?? '';
if (!current.includes(flag)) process.env.NODE_OPTIONS = `${current} ${flag}`.trim();
