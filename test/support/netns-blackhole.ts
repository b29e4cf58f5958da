/**
 * A blackholed address for tests: an IPv4 address whose SYNs leave through a veth link into a
 * network namespace this process creates, where nothing ever answers them, so connect() waits
 * until its own timeout (like a firewall that drops, unlike a refused or unreachable host).
 *
 * How: `ip netns add`, a veth pair whose far end is moved into that namespace, a /29 of the
 * benchmarking range 198.18.0.0/15 (RFC 2544, never routed) on the near end, and permanent
 * neighbour entries for the blackholed addresses with a MAC nobody owns: frames for it are sent into
 * the namespace and dropped there (the far end is not that MAC). No netfilter needed. Blackhole
 * and unreachable routes are not used: they fail connect() at once (EINVAL, EHOSTUNREACH).
 *
 * Decides: names (mxqbh<pid>…) and the /29 (from the pid), so parallel test processes differ.
 * Never: skips when it cannot set up (needs root/CAP_NET_ADMIN; it throws); touches any interface,
 * route or namespace it did not create; leaves them behind after close() (deleting the namespace
 * deletes the veth pair, its address, route and neighbour entry).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Blackhole {
  /** The address nothing answers (SYNs dropped): addrs[0]. */
  addr: string;
  /** Several such addresses (for a scene where more than one server is dead). */
  addrs: string[];
  /** The near end's own address (the source of the SYNs). */
  local: string;
  /** Packets the far end received (read from the namespace), e.g. to show SYNs went there. */
  receivedPackets(): Promise<number>;
  close(): Promise<void>;
}

async function ip(args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { timeout: 10_000 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

export async function createBlackhole(): Promise<Blackhole> {
  const id = `mxqbh${process.pid}`;
  const ns = id;
  const near = `${id}a`;
  const far = `${id}b`;
  // a /29 of 198.18.0.0/15 chosen by pid: .1 is ours, .2 to .6 are blackholes
  const block = (process.pid % 16_384) * 8;
  const octets = (n: number) => `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
  const local = octets(block + 1);
  const addrs = [2, 3, 4, 5, 6].map((i) => octets(block + i));
  await ip(['netns', 'add', ns]);
  const close = async () => {
    await ip(['netns', 'del', ns]);
  };
  try {
    await ip(['link', 'add', near, 'type', 'veth', 'peer', 'name', far]);
    await ip(['link', 'set', far, 'netns', ns]);
    await ip(['-n', ns, 'link', 'set', far, 'up']);
    await ip(['addr', 'add', `${local}/29`, 'dev', near]);
    // no IPv6 link-local address on our end, so no neighbour discovery traffic into the namespace
    await ip(['link', 'set', near, 'addrgenmode', 'none']);
    await ip(['link', 'set', near, 'up']);
    for (const a of addrs)
      await ip(['neigh', 'replace', a, 'lladdr', '02:00:5e:00:00:fe', 'nud', 'permanent', 'dev', near]);
  } catch (err) {
    // the near end moves with the far end's deletion; delete it too in case the move failed
    await ip(['link', 'del', near]).catch(() => undefined);
    await close();
    throw err;
  }
  return {
    addr: addrs[0] ?? '',
    addrs,
    local,
    async receivedPackets() {
      const out = await ip(['-n', ns, '-s', '-j', 'link', 'show', far]);
      const [link] = JSON.parse(out) as { stats64?: { rx?: { packets?: number } } }[];
      return link?.stats64?.rx?.packets ?? 0;
    },
    close,
  };
}
