/**
 * HTML of the dashboard's own pages: escaping, tables, the page frame.
 *
 * Decides: that every value reaching HTML goes through esc() (tables and frames escape cells and
 * titles), the navigation bar, a small inline stylesheet (the CSP allows nothing else).
 * Never: reads Redis, trusts a string as markup (only `Raw` from these helpers is markup).
 */

/** Markup built by these helpers; anything else is text and is escaped. */
export interface Raw {
  readonly html: string;
}

export const raw = (html: string): Raw => ({ html });

export function esc(v: unknown): string {
  return String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

export type Cell = string | number | boolean | undefined | null | Raw;

const cell = (c: Cell): string => (typeof c === 'object' && c !== null ? c.html : esc(c));

export function link(href: string, text: string): Raw {
  return raw(`<a href="${esc(href)}">${esc(text)}</a>`);
}

export function table(headers: string[], rows: Cell[][], empty = 'nothing here'): Raw {
  if (rows.length === 0) return raw(`<p class="empty">${esc(empty)}</p>`);
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`).join('\n');
  return raw(`<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`);
}

export function section(title: string, ...parts: Raw[]): Raw {
  return raw(`<section><h2>${esc(title)}</h2>${parts.map((p) => p.html).join('\n')}</section>`);
}

export function time(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) || ms <= 0 ? '' : new Date(ms).toISOString();
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
nav{background:#1d2330;padding:10px 16px}nav a{color:#e8ecf3;margin-right:18px;text-decoration:none;font-weight:600}
main{padding:16px}h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:18px 0 8px}
table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:8px}
th,td{border:1px solid #d9dde5;padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}
th{background:#eef0f4}td{word-break:break-word}.empty{color:#6b7385;font-style:italic}
.sent{color:#137333;font-weight:600}.bounced,.expired{color:#b3261e;font-weight:600}.deferred,.delayed{color:#a56300;font-weight:600}
form{margin:0 0 12px}input{font:inherit;padding:3px 6px}.note{color:#6b7385}`;

export function page(title: string, body: Raw, nav: ReadonlyArray<{ path: string; title: string }>): string {
  const links = [{ path: '/queues', title: 'Queues (bull-board)' }, ...nav]
    .map((n) => `<a href="${esc(n.path)}">${esc(n.title)}</a>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · mxq</title>
<style>${STYLE}</style></head><body><nav>${links}</nav><main><h1>${esc(title)}</h1>
${body.html}</main></body></html>`;
}

/** A status word with its CSS class (sent, bounced, deferred, ...). */
export function status(s: string): Raw {
  return raw(`<span class="${esc(s.replace(/[^a-z]/g, ''))}">${esc(s)}</span>`);
}
