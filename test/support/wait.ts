/**
 * Polling for tests: wait until a probe yields a value, bounded in count and time.
 *
 * Decides: nothing about the system under test; it only waits and fails with what it waited for.
 */

/** Call `f` every 50 ms until it returns something other than undefined; throw after `timeoutMs`. */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < end; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
