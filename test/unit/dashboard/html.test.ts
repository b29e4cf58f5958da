import { describe, expect, it } from 'vitest';
import { esc, link, page, status, table } from '../../../src/dashboard/html.ts';

describe('dashboard html', () => {
  it('escapes every cell, title and link (server diagnostics can contain markup)', () => {
    const t = table(['<h>'], [['550 <bob@x.test>: "no" & \'gone\''], [link('/m/"x', '<b>')]]).html;
    expect(t).toContain('<th>&lt;h&gt;</th>');
    expect(t).toContain('550 &lt;bob@x.test&gt;: &quot;no&quot; &amp; &#39;gone&#39;');
    expect(t).toContain('<a href="/m/&quot;x">&lt;b&gt;</a>');
    expect(page('<t>', table([], []), [{ path: '/"p', title: '<n>' }])).toContain(
      '<title>&lt;t&gt; · mxq</title>',
    );
    expect(status('bounced<script>').html).toBe('<span class="bouncedscript">bounced&lt;script&gt;</span>');
    expect(esc(undefined)).toBe('');
  });
  it('an empty table says so', () => {
    expect(table(['a'], [], 'none yet').html).toBe('<p class="empty">none yet</p>');
  });
});
