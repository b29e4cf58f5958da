import { describe, expect, it } from 'vitest';
import {
  buildDeliveryReport,
  type DeliveryReportParams,
  headerBlock,
  rfc5322Date,
  wantsNotification,
} from '../../../src/workers/bounce-message.ts';

interface Part {
  headers: Record<string, string>;
  body: string;
}

/** Minimal MIME reader for the tests: unfolded headers (lower-case names) and the body. */
function splitHeaders(text: string): Part {
  const at = text.indexOf('\r\n\r\n');
  const head = at < 0 ? text : text.slice(0, at);
  const body = at < 0 ? '' : text.slice(at + 4);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function parseReport(buf: Buffer): { top: Part; parts: Part[] } {
  const text = buf.toString('utf8');
  const top = splitHeaders(text);
  const boundary = /boundary="([^"]+)"/.exec(top.headers['content-type'] ?? '')?.[1];
  if (boundary === undefined) throw new Error('no boundary');
  const pieces = top.body.split(`--${boundary}`);
  expect(pieces.at(-1)?.startsWith('--')).toBe(true);
  const parts = pieces.slice(1, -1).map((p) => splitHeaders(p.replace(/^\r\n/, '').replace(/\r\n$/, '')));
  return { top, parts };
}

/** Blocks of "Name: value" fields from a delivery-status body. */
function dsnBlocks(body: string): Array<Record<string, string>> {
  return body
    .trim()
    .split('\r\n\r\n')
    .map((block) =>
      Object.fromEntries(
        block.split('\r\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
      ),
    );
}

const original = Buffer.from(
  'From: s@a.test\nTo: r@b.test\nSubject: hello\nTLS-Required: no\n\nline one\nline two\n',
);
const arrival = Date.UTC(2025, 0, 2, 3, 4, 5);
const base: DeliveryReportParams = {
  kind: 'failure',
  reportingMta: 'mx.mxq.test',
  queueId: '4Xyz12',
  sender: 's@a.test',
  arrivalTime: arrival,
  ret: 'FULL',
  recipients: [
    {
      finalRecipient: 'r@b.test',
      originalRecipient: 'R.Orig@b.test',
      action: 'failed',
      status: '5.1.1',
      remoteMta: 'mx1.b.test',
      diagnosticCode: 'smtp; 550 5.1.1 <r@b.test>: unknown user',
      lastAttemptDate: arrival + 60_000,
    },
    {
      finalRecipient: 'q@b.test',
      action: 'failed',
      status: '4.4.1',
      diagnosticCode: 'X-Postfix; connect to mx1.b.test[127.0.2.1]:25: Connection refused',
    },
  ],
  original,
  now: arrival + 120_000,
};

describe('buildDeliveryReport, failure', () => {
  it('top-level header fields', async () => {
    const { top } = parseReport(await buildDeliveryReport({ ...base, envid: 'ENV-1' }));
    expect(top.headers.from).toMatch(/Mail Delivery System.*<MAILER-DAEMON@mx\.mxq\.test>/);
    expect(top.headers.to).toBe('s@a.test');
    expect(top.headers.subject).toBe('Undelivered Mail Returned to Sender');
    expect(top.headers['auto-submitted']).toBe('auto-replied');
    expect(top.headers.date).toBe('Thu, 2 Jan 2025 03:06:05 +0000');
    expect(top.headers['message-id']).toMatch(/^<[^@<>]+@mx\.mxq\.test>$/);
    expect(top.headers['mime-version']).toBe('1.0');
    expect(top.headers['content-type']).toMatch(/^multipart\/report; report-type=delivery-status; boundary=/);
    expect(top.headers['tls-required']).toBe('no');
  });
  it('three parts: text, delivery-status, the original message', async () => {
    const { parts } = parseReport(await buildDeliveryReport({ ...base, envid: 'ENV-1' }));
    expect(parts).toHaveLength(3);
    const [text, status, orig] = parts as [Part, Part, Part];
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    expect(text.body).toContain('This is the mail system at host mx.mxq.test.');
    expect(text.body).toContain("I'm sorry to have to inform you that your message could not");
    expect(text.body).toContain('For further assistance, please send mail to postmaster.');
    expect(text.body).toContain(
      '<r@b.test> (expanded from <R.Orig@b.test>): 550 5.1.1 <r@b.test>: unknown user',
    );
    expect(text.body).toContain('<q@b.test>: connect to mx1.b.test[127.0.2.1]:25: Connection refused');

    expect(status.headers['content-type']).toBe('message/delivery-status');
    const [msg, r1, r2] = dsnBlocks(status.body);
    expect(msg).toEqual({
      'Original-Envelope-Id': 'ENV-1',
      'Reporting-MTA': 'dns; mx.mxq.test',
      'X-Postfix-Queue-ID': '4Xyz12',
      'X-Postfix-Sender': 'rfc822; s@a.test',
      'Arrival-Date': 'Thu, 2 Jan 2025 03:04:05 +0000',
    });
    expect(r1).toEqual({
      'Final-Recipient': 'rfc822; r@b.test',
      'Original-Recipient': 'rfc822; R.Orig@b.test',
      Action: 'failed',
      Status: '5.1.1',
      'Remote-MTA': 'dns; mx1.b.test',
      'Diagnostic-Code': 'smtp; 550 5.1.1 <r@b.test>: unknown user',
      'Last-Attempt-Date': 'Thu, 2 Jan 2025 03:05:05 +0000',
    });
    expect(r2).toEqual({
      'Final-Recipient': 'rfc822; q@b.test',
      Action: 'failed',
      Status: '4.4.1',
      'Diagnostic-Code': 'X-Postfix; connect to mx1.b.test[127.0.2.1]:25: Connection refused',
    });

    expect(orig.headers['content-type']).toBe('message/rfc822');
    expect(orig.headers['content-description']).toBe('Undelivered Message');
    expect(orig.body).toBe(
      'From: s@a.test\r\nTo: r@b.test\r\nSubject: hello\r\nTLS-Required: no\r\n\r\nline one\r\nline two\r\n',
    );
  });
  it('RET=HDRS returns only the header block as text/rfc822-headers', async () => {
    const { parts } = parseReport(await buildDeliveryReport({ ...base, ret: 'HDRS' }));
    const orig = parts[2] as Part;
    expect(orig.headers['content-type']).toBe('text/rfc822-headers');
    expect(orig.headers['content-description']).toBe('Undelivered Message Headers');
    expect(orig.body).toBe('From: s@a.test\r\nTo: r@b.test\r\nSubject: hello\r\nTLS-Required: no\r\n');
    expect(orig.body).not.toContain('line one');
  });
  it('an original above bounceSizeLimit is returned as headers only', async () => {
    const { parts } = parseReport(await buildDeliveryReport({ ...base, bounceSizeLimit: 20 }));
    expect(parts[2]?.headers['content-type']).toBe('text/rfc822-headers');
  });
  it('no Original-Envelope-Id or TLS-Required when absent; 8-bit originals kept byte for byte', async () => {
    const eight = Buffer.from('Subject: caf\u00e9\r\n\r\nbody \u00e9\r\n');
    const buf = await buildDeliveryReport({ ...base, original: eight });
    const { top, parts } = parseReport(buf);
    expect(top.headers['tls-required']).toBeUndefined();
    expect(parts[1]?.body).not.toContain('Original-Envelope-Id');
    expect(parts[2]?.headers['content-transfer-encoding']).toBe('8bit');
    expect(parts[2]?.body).toBe('Subject: caf\u00e9\r\n\r\nbody \u00e9\r\n');
  });
  it('sanitizes CR/LF in remote text so no field can be injected', async () => {
    const { parts } = parseReport(
      await buildDeliveryReport({
        ...base,
        recipients: [
          {
            finalRecipient: 'r@b.test',
            action: 'failed',
            status: '5.0.0',
            diagnosticCode: 'smtp; 550 no\r\nAction: delivered',
          },
        ],
      }),
    );
    const blocks = dsnBlocks(parts[1]?.body ?? '');
    expect(blocks[1]?.Action).toBe('failed');
    expect(blocks[1]?.['Diagnostic-Code']).toBe('smtp; 550 no Action: delivered');
  });
  it('a postmaster notice (null sender) goes to the postmaster', async () => {
    const { top } = parseReport(
      await buildDeliveryReport({ ...base, sender: '', postmaster: 'pm@mxq.test' }),
    );
    expect(top.headers.to).toBe('pm@mxq.test');
  });
});

describe('buildDeliveryReport, delay and success', () => {
  it('delay warning: subject, wording, Will-Retry-Until, headers only', async () => {
    const until = arrival + 5 * 86_400_000;
    const { top, parts } = parseReport(
      await buildDeliveryReport({
        ...base,
        kind: 'delay',
        now: arrival + 4 * 3_600_000 + 5,
        recipients: [
          {
            finalRecipient: 'r@b.test',
            action: 'delayed',
            status: '4.4.1',
            diagnosticCode: 'X-Postfix; refused',
            willRetryUntil: until,
          },
        ],
      }),
    );
    expect(top.headers.subject).toBe('Delayed Mail (still being retried)');
    expect(parts[0]?.body).toContain('# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #');
    expect(parts[0]?.body).toContain('Your message could not be delivered for more than 4 hour(s).');
    expect(parts[0]?.body).toContain('It will be retried until it is 5 day(s) old.');
    const r = dsnBlocks(parts[1]?.body ?? '')[1];
    expect(r?.Action).toBe('delayed');
    expect(r?.['Will-Retry-Until']).toBe(rfc5322Date(until));
    expect(parts[2]?.headers['content-type']).toBe('text/rfc822-headers');
  });
  it('success notice', async () => {
    const { top, parts } = parseReport(
      await buildDeliveryReport({
        ...base,
        kind: 'success',
        recipients: [
          {
            finalRecipient: 'r@b.test',
            action: 'relayed',
            status: '2.0.0',
            remoteMta: 'mx1.b.test',
            diagnosticCode: 'smtp; 250 2.0.0 Ok',
          },
        ],
      }),
    );
    expect(top.headers.subject).toBe('Successful Mail Delivery Report');
    expect(parts[0]?.body).toContain('Your message was successfully delivered to the destination(s)');
    expect(dsnBlocks(parts[1]?.body ?? '')[1]?.Action).toBe('relayed');
  });
});

describe('wantsNotification', () => {
  it('default: failures and delays', () => {
    expect(wantsNotification(undefined, 'failed')).toBe(true);
    expect(wantsNotification(undefined, 'delayed')).toBe(true);
    expect(wantsNotification(undefined, 'relayed')).toBe(false);
    expect(wantsNotification(undefined, 'delivered')).toBe(false);
  });
  it('NEVER suppresses everything', () => {
    for (const a of ['failed', 'delayed', 'delivered', 'relayed'] as const)
      expect(wantsNotification(['NEVER'], a)).toBe(false);
  });
  it('keyword lists', () => {
    expect(wantsNotification(['SUCCESS'], 'failed')).toBe(false);
    expect(wantsNotification(['SUCCESS'], 'delivered')).toBe(true);
    expect(wantsNotification(['SUCCESS', 'FAILURE'], 'failed')).toBe(true);
    expect(wantsNotification(['FAILURE'], 'delayed')).toBe(false);
    expect(wantsNotification(['DELAY'], 'delayed')).toBe(true);
  });
});

describe('helpers', () => {
  it('headerBlock handles LF and CRLF messages and header-only messages', () => {
    expect(headerBlock(Buffer.from('A: 1\r\nB: 2\r\n\r\nbody')).toString()).toBe('A: 1\r\nB: 2\r\n');
    expect(headerBlock(Buffer.from('A: 1\nB: 2\n\nbody')).toString()).toBe('A: 1\r\nB: 2\r\n');
    expect(headerBlock(Buffer.from('A: 1\n')).toString()).toBe('A: 1\r\n');
  });
  it('rfc5322Date', () => {
    expect(rfc5322Date(Date.UTC(2025, 11, 31, 23, 59, 9))).toBe('Wed, 31 Dec 2025 23:59:09 +0000');
  });
});
