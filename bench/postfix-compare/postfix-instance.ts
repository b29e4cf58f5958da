/**
 * Benchmark side "Postfix": a private Postfix instance in a temp dir, for bench/postfix-compare.
 *
 * Decides: how Debian's `postfix` gets installed when missing (apt-get with a policy-rc.d that
 * refuses service starts and debconf "No configuration", so the package neither starts a daemon
 * nor writes /etc/postfix/main.cf; a policy-rc.d we created is removed again), and the instance:
 * its own config_directory, queue_directory and data_directory under one mkdtemp dir, a master.cf
 * with only smtpd on a free 127.0.0.1 port and the services a relay needs, inet_interfaces =
 * loopback-only, maillog_file in the dir (postlogd; no syslog), every message held at smtpd
 * (check_client_access static:HOLD) so the queue fills without delivering, unless `hold: false`
 * (end-to-end: delivered as it arrives); with tlsMay, STARTTLS
 * at level may with TLS connection reuse through tlsproxy (its master.cf entry included). The
 * instance runs in its own mount namespace (unshare) with a bind-mounted resolv.conf naming the
 * benchmark's loopback DNS server, so MX lookups reach it without touching the system's
 * /etc/resolv.conf.
 * Never: edits files under /etc, listens on a non-loopback address, leaves the master running
 * after stop().
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const POSTFIX = '/usr/sbin/postfix';
const POLICY_RC = '/usr/sbin/policy-rc.d';

/** Install Debian's postfix if /usr/sbin/postfix is missing. Returns what was done. */
export function ensurePostfixInstalled(log: (s: string) => void): string {
  if (existsSync(POSTFIX)) return 'postfix already installed';
  const ourPolicy = !existsSync(POLICY_RC);
  if (ourPolicy) writeFileSync(POLICY_RC, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    spawnSync('debconf-set-selections', {
      input:
        'postfix postfix/main_mailer_type select No configuration\n' +
        'postfix postfix/mailname string bench.mxq.test\n',
    });
    log('installing Debian postfix (apt-get, services not started)…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'postfix'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
    });
    if (r.status !== 0 || !existsSync(POSTFIX)) {
      throw new Error(`apt-get install postfix failed: ${r.stderr?.toString().slice(-2000)}`);
    }
  } finally {
    if (ourPolicy) rmSync(POLICY_RC, { force: true });
  }
  // A package whose init script did run anyway: stop the system instance it started.
  spawnSync(POSTFIX, ['stop'], { stdio: 'ignore' });
  return 'installed Debian postfix (no service started)';
}

export interface PostfixInstance {
  dir: string;
  smtpdPort: number;
  /** pid of the master (from its pid file), once started. */
  masterPid(): number | undefined;
  postsuper(args: string[]): Promise<void>;
  flush(): Promise<void>;
  /** Messages in the instance's queues (all of incoming, active, deferred, hold, maildrop). */
  queued(): number;
  maillog(): string;
  stop(): Promise<void>;
}

export interface PostfixInstanceOptions {
  smtpdPort: number;
  /** `[ip]:port` or a domain (MX lookup); empty: deliver by MX of each recipient domain. */
  relayhost: string;
  /** Nameserver for the instance's resolv.conf (port 53 only, a glibc limit). */
  nameserver: string;
  /**
   * STARTTLS at level `may` towards the relayhost, TLS connections reused through tlsproxy
   * (`smtp_tls_connection_reuse = yes`, with the tlsproxy and tlsmgr services in master.cf) and a
   * TLS session cache. Off: `smtp_tls_security_level = none`.
   */
  tlsMay?: boolean;
  /** Hold every message at smtpd (default true); false: deliver as messages arrive (end-to-end). */
  hold?: boolean;
}

function mainCf(dir: string, o: PostfixInstanceOptions): string {
  return `${[
    'compatibility_level = 3.6',
    `queue_directory = ${join(dir, 'spool')}`,
    `data_directory = ${join(dir, 'data')}`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'myhostname = postfix.bench.test',
    'mydomain = bench.test',
    'mydestination =',
    'inet_interfaces = loopback-only',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    `relayhost = ${o.relayhost}`,
    'alias_maps =',
    'alias_database =',
    'local_recipient_maps =',
    `smtpd_recipient_restrictions = ${o.hold === false ? '' : 'check_client_access static:HOLD, '}permit_mynetworks, reject`,
    ...(o.tlsMay === true
      ? [
          'smtp_tls_security_level = may',
          'smtp_tls_connection_reuse = yes',
          `smtp_tls_session_cache_database = btree:${join(dir, 'data', 'smtp_scache')}`,
        ]
      : ['smtp_tls_security_level = none']),
    'smtpd_tls_security_level = none',
    `maillog_file = ${join(dir, 'maillog')}`,
    `maillog_file_prefixes = ${dir}`,
    'biff = no',
    // Queue files kept as Postfix writes them (fsync per message is Postfix's default).
  ].join('\n')}\n`;
}

function masterCf(o: PostfixInstanceOptions): string {
  const l = (s: string) => s;
  return `${[
    l(`127.0.0.1:${o.smtpdPort} inet n - n - - smtpd`),
    l('pickup    unix n - n 60 1 pickup'),
    l('cleanup   unix n - n - 0 cleanup'),
    l('qmgr      unix n - n 300 1 qmgr'),
    l('rewrite   unix - - n - - trivial-rewrite'),
    l('bounce    unix - - n - 0 bounce'),
    l('defer     unix - - n - 0 bounce'),
    l('trace     unix - - n - 0 bounce'),
    l('verify    unix - - n - 1 verify'),
    l('flush     unix n - n 1000? 0 flush'),
    l('proxymap  unix - - n - - proxymap'),
    l('smtp      unix - - n - - smtp'),
    l('relay     unix - - n - - smtp'),
    l('showq     unix n - n - - showq'),
    l('error     unix - - n - - error'),
    l('retry     unix - - n - - error'),
    l('discard   unix - - n - - discard'),
    l('anvil     unix - - n - 1 anvil'),
    l('scache    unix - - n - 1 scache'),
    l('postlog   unix-dgram n - n - 1 postlogd'),
    ...(o.tlsMay === true
      ? [l('tlsproxy  unix - - n - 0 tlsproxy'), l('tlsmgr    unix - - n 1000? 1 tlsmgr')]
      : []),
  ].join('\n')}\n`;
}

function countFiles(root: string): number {
  const r = spawnSync('find', [root, '-type', 'f'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((x) => x !== '').length;
}

/** Create and start a private instance (see the header). */
export async function startPostfixInstance(o: PostfixInstanceOptions): Promise<PostfixInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'mxq-bench-postfix-'));
  const etc = join(dir, 'etc');
  chmodSync(dir, 0o755); // the postfix user must reach data_directory
  spawnSync('mkdir', ['-p', etc, join(dir, 'spool'), join(dir, 'data')]);
  spawnSync('chown', ['postfix', join(dir, 'data')]);
  writeFileSync(join(etc, 'main.cf'), mainCf(dir, o));
  writeFileSync(join(etc, 'master.cf'), masterCf(o));
  writeFileSync(join(dir, 'resolv.conf'), `nameserver ${o.nameserver}\noptions timeout:2 attempts:2\n`);
  // Own mount namespace: /etc/resolv.conf is replaced for this instance's processes only.
  const script = `mount --bind ${join(dir, 'resolv.conf')} /etc/resolv.conf && exec ${POSTFIX} -c ${etc} start`;
  try {
    await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { timeout: 60_000 });
  } catch (err) {
    const why = existsSync(join(dir, 'maillog')) ? readFileSync(join(dir, 'maillog'), 'utf8') : '';
    await run(POSTFIX, ['-c', etc, 'stop']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`postfix -c ${etc} start failed: ${String(err)}\n${why.slice(-2000)}`);
  }
  const pidFile = join(dir, 'spool', 'pid', 'master.pid');
  const queueDirs = ['incoming', 'active', 'deferred', 'hold', 'maildrop'].map((q) => join(dir, 'spool', q));
  const masterPid = (): number | undefined => {
    try {
      const n = Number(readFileSync(pidFile, 'utf8').trim());
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    dir,
    smtpdPort: o.smtpdPort,
    masterPid,
    async postsuper(args) {
      await run('/usr/sbin/postsuper', ['-c', etc, ...args], { timeout: 120_000 });
    },
    async flush() {
      await run('/usr/sbin/postqueue', ['-c', etc, '-f'], { timeout: 60_000 });
    },
    queued() {
      return queueDirs.reduce((n, d) => n + (existsSync(d) ? countFiles(d) : 0), 0);
    },
    maillog() {
      try {
        return readFileSync(join(dir, 'maillog'), 'utf8');
      } catch {
        return '';
      }
    },
    async stop() {
      const pid = masterPid();
      try {
        await run(POSTFIX, ['-c', etc, 'stop'], { timeout: 30_000 });
      } catch {
        // fall through to the kill below
      }
      if (pid !== undefined) {
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline && alive(pid)) await new Promise((r) => setTimeout(r, 100));
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
