/**
 * Sending due TLSRPT reports (RFC 8460 §3, §5): every stored (day, domain) before today gets its
 * JSON report, gzip-compressed, to each `rua` of the domain's `_smtp._tls` TXT record.
 *
 * Decides: mailto: URIs get a multipart/report (report-type="tlsrpt") message queued through
 * mxq itself (from `tlsrptSender@myhostname`, with TLS-Report-Domain / TLS-Report-Submitter and
 * `TLS-Required: no`, §5.3); https: URIs get a POST of `application/tlsrpt+gzip` (certificate
 * checked against smtpTlsCAfile or Node's store, no redirects, one deadline). The counts are
 * removed once every URI took the report; a domain without a valid record is dropped with a log
 * line naming the domain and the defect; a failed delivery keeps the counts for the next run
 * (they expire after 8 days).
 * Never: runs by itself (the `mxq tlsrpt` command or a scheduler calls it), counts sessions.
 */
import https from 'node:https';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Clock, DnsPort, Logger } from '../core/ports.ts';
import { buildTlsReport, parseTlsRptTxt } from '../core/tlsrpt.ts';
import type { TlsRptStore } from './store.ts';

const gzipAsync = promisify(gzip);

export interface TlsRptSendDeps {
  store: TlsRptStore;
  dns: DnsPort;
  clock: Clock;
  logger: Logger;
  /** Enqueues a message (MailQueue.send). */
  mail: { send(input: { from: string; to: string[]; message: Buffer }): Promise<{ queueId: string }> };
  myhostname: string;
  organization: string;
  contact: string;
  sender: string;
  ca: string[];
  timeoutMs: number;
}

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The first address of a host through the configured DNS (as delivery sees names). */
async function addressOf(dns: DnsPort, host: string): Promise<string | undefined> {
  for (const type of ['A', 'AAAA'] as const) {
    const a = await dns.lookup(host, type);
    if (a.class === 'OK' && (a.type === 'A' || a.type === 'AAAA') && a.addresses[0] !== undefined)
      return a.addresses[0];
  }
  return undefined;
}

async function post(
  dns: DnsPort,
  uri: string,
  body: Buffer,
  ca: string[],
  timeoutMs: number,
): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'malformed URI';
  }
  const host = url.hostname;
  const address = await addressOf(dns, host);
  if (address === undefined) return `no address for ${host}`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (err: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(err);
    };
    const req = https.request({
      host: address,
      port: url.port === '' ? 443 : Number(url.port),
      path: `${url.pathname}${url.search}`,
      servername: host,
      method: 'POST',
      headers: { host, 'content-type': 'application/tlsrpt+gzip', 'content-length': String(body.length) },
      agent: false,
      rejectUnauthorized: true,
      checkServerIdentity: (_name, cert) => tls.checkServerIdentity(host, cert),
      ...(ca.length > 0 ? { ca } : {}),
    });
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    req.on('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      finish(status >= 200 && status < 300 ? undefined : `HTTP status ${status}`);
    });
    req.end(body);
  });
}

function reportMail(p: {
  from: string;
  to: string;
  domain: string;
  submitter: string;
  reportId: string;
  day: string;
  gz: Buffer;
  now: number;
}): Buffer {
  const boundary = `tlsrpt-${p.now.toString(36)}`;
  const start = Date.parse(`${p.day}T00:00:00Z`) / 1000;
  const end = start + 86_399;
  const filename = `${p.submitter}!${p.domain}!${start}!${end}.json.gz`;
  const b64 = p.gz.toString('base64').replace(/.{76}/g, '$&\r\n');
  const lines = [
    `From: <${p.from}>`,
    `To: <${p.to}>`,
    `Subject: Report Domain: ${p.domain} Submitter: ${p.submitter} Report-ID: <${p.reportId}>`,
    `Date: ${new Date(p.now).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${p.now.toString(36)}.${p.domain}@${p.submitter}>`,
    `TLS-Report-Domain: ${p.domain}`,
    `TLS-Report-Submitter: ${p.submitter}`,
    'TLS-Required: no',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type="tlsrpt"; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `This is an aggregate TLS report from ${p.submitter} for ${p.domain} on ${p.day}.`,
    '',
    `--${boundary}`,
    'Content-Type: application/tlsrpt+gzip',
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="${filename}"`,
    '',
    b64.replace(/\r\n$/, ''),
    '',
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

/** Send every report due before today; returns how many (day, domain) reports went out. */
export async function sendDueReports(d: TlsRptSendDeps): Promise<number> {
  const today = utcDay(d.clock.now());
  let sent = 0;
  for (const { day, domain } of await d.store.pending()) {
    if (day >= today) continue;
    const txt = await d.dns.lookup(`_smtp._tls.${domain}`, 'TXT');
    const parsed = txt.class === 'OK' && txt.type === 'TXT' ? parseTlsRptTxt(txt.records) : undefined;
    if (parsed === undefined || !parsed.ok) {
      if (txt.class !== 'OK' && txt.class !== 'NOTFOUND') continue; // a DNS trouble: try next run
      const defect = parsed?.ok === false ? parsed.defect : 'no TXT record';
      d.logger.warn(
        { event: 'tlsrpt', domain, defect },
        `TLSRPT ${domain}: no report sent for ${day}: ${defect}`,
      );
      await d.store.remove(day, domain);
      continue;
    }
    const counts = await d.store.read(day, domain);
    const { reportId, json } = buildTlsReport({
      day,
      domain,
      organization: d.organization,
      contact: d.contact,
      submitter: d.myhostname,
      policies: counts,
    });
    const gz = await gzipAsync(Buffer.from(json));
    let failed = false;
    for (const uri of parsed.rua) {
      if (uri.toLowerCase().startsWith('mailto:')) {
        const to = decodeURIComponent(uri.slice(7));
        const message = reportMail({
          from: d.sender,
          to,
          domain,
          submitter: d.myhostname,
          reportId,
          day,
          gz,
          now: d.clock.now(),
        });
        const q = await d.mail.send({ from: d.sender, to: [to], message });
        d.logger.info(
          { event: 'tlsrpt-sent', domain, day, to, queueId: q.queueId },
          `TLSRPT ${domain}: report ${day} queued for ${to}: ${q.queueId}`,
        );
      } else {
        const err = await post(d.dns, uri, gz, d.ca, d.timeoutMs);
        if (err !== undefined) {
          failed = true;
          d.logger.warn(
            { event: 'tlsrpt', domain, uri, defect: err },
            `TLSRPT ${domain}: report ${day} not posted to ${uri}: ${err}`,
          );
        } else
          d.logger.info(
            { event: 'tlsrpt-sent', domain, day, uri },
            `TLSRPT ${domain}: report ${day} posted to ${uri}`,
          );
      }
    }
    if (!failed) {
      await d.store.remove(day, domain);
      sent++;
    }
  }
  return sent;
}
