// @vitest-environment jsdom
// Event text is attacker-controlled, and annotation text is free text pasted by an analyst:
// every string must reach the page as text, never as markup. The CSP forbids inline style and
// markup injection, so the sources must not use {@html}, innerHTML or style="" either.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeDetail } from '../api/bindings/ChangeDetail';
import type { ChangeRow } from '../api/bindings/ChangeRow';
import type { Finding } from '../api/bindings/Finding';
import type { RuleStatus } from '../api/bindings/RuleStatus';
import { COLUMNS } from '../state/columns.svelte';
import { AnnotationDrafts } from '../state/drafts.svelte';
import ChangeRowView from './ChangeRowView.svelte';
import DetailPanel from './DetailPanel.svelte';
import FindingsPanel from './FindingsPanel.svelte';

const UA = '<img src=x onerror="window.__pwned=1">';
const TAG = '<script>window.__pwned=2</script>';
const NOTE_TAG = '<img src=x onerror="window.__pwned=6">';
const COMMENT = '<script>window.__pwned=7</script>\n<b>not bold</b>';

const row: ChangeRow = {
  seq: 7,
  time: '2024-05-05T14:01:03.712Z',
  cursor: { time_us: 1714917663712000, seq: 7 },
  change: 'update',
  event_type: 'com.opshelm.asset.update',
  asset_name: 'ohn:<b>x</b>',
  asset_label: '"><svg onload=alert(1)>',
  asset_type: '<i>t</i>',
  region: '<u>r</u>',
  account: '123456789012',
  action: '<script>a()</script>',
  principal: 'arn:aws:iam::1:user/<em>e</em>',
  principal_short: '<em>e</em>',
  method: '<img src=y>',
  source_ip: '075.050.255.67',
  summary: '<iframe src="javascript:alert(1)">',
  starred: true,
  tags: [NOTE_TAG, '"><svg onload=alert(2)>'],
  comment_count: 1,
  findings: ['reverted_change', '<img src=x onerror="window.__pwned=8">'],
};


/** A finding's summary quotes event text (labels, CIDRs, principals): hostile too. */
const SUMMARY = '<img src=x onerror="window.__pwned=9"> allowed <b>0.0.0.0/0</b> for 5m';
const finding: Finding = {
  key: 'reverted_change:"><svg onload=alert(3)>',
  rule: 'reverted_change',
  severity: 'high',
  events: [{ seq: 7, source: '<s>src</s>', event_id: '<a>e</a>' }],
  asset: 'ohn:<b>x</b>',
  asset_label: '<b>x</b>',
  principal: 'arn:aws:iam::1:user/<em>e</em>',
  principal_short: '<em>e</em>',
  summary: SUMMARY,
  time: row.time,
  time_us: 1714917663712000,
  count: 1,
  first_time: row.time,
  last_time: row.time,
};

const detail: ChangeDetail = {
  row,
  who: {
    principal: row.principal,
    principal_short: row.principal_short,
    principal_id: '<b>id</b>',
    assumed_role: '<a href=x>role</a>',
    assumed_id: '<a>s</a>',
    source_ip: row.source_ip,
    user_agent: UA,
    method: row.method,
    method_reason: '<marquee>why</marquee>',
  },
  changes: [{ path: '<object>path</object>', op: 'changed', before: '"<b>old</b>"', after: '"<b>new</b>"' }],
  unified: '@@ -1 +1 @@\n-<img src=z>\n+<script>b()</script>\n',
  side_by_side: [],
  side_by_side_folds: [],
  config: null,
  diff_note: '<h1>note</h1>',
  associations: [{ name: 'ohn:<s>n</s>', asset_type: '<s>t</s>', relation: '<s>r</s>', label: '<img src=w>', known: false }],
  raw_text: '{"ua": "<img src=v onerror=alert(1)>"}',
  asset_tags: [['team', TAG]],
  annotations: { starred: true, tags: row.tags, comments: [{ id: 1, body: COMMENT, created_at: '2024-05-05T15:00:00Z' }] },
  findings: [finding],
};
const statuses: RuleStatus[] = [
  { rule: 'impossible_travel', active: false, note: 'off: cannot read the GeoIP database <img src=x onerror=alert(4)>' },
];

let app: Record<string, unknown> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = '';
});

function markupElements(root: Element): string[] {
  return [...root.querySelectorAll('img, script, iframe, object, b, i, u, em, marquee, h1, s, a, svg[onload], [onerror], [onload]')]
    .filter((el) => !(el.tagName === 'svg' && !el.hasAttribute('onload')))
    .map((el) => el.tagName.toLowerCase());
}

describe('hostile event text', () => {
  it('renders the detail panel as text only', () => {
    const target = document.createElement('div');
    document.body.append(target);
    app = mount(DetailPanel, {
      target,
      props: {
        detail,
        loading: false,
        error: null,
        zone: 'utc',
        empty: '',
        pivotedTo: null,
        onannotate: async () => null,
        onpivot: () => {},
        onfilter: () => {},
        onaround: () => {},
        drafts: new AnnotationDrafts(),
        onclose: () => {},
      },
    });
    flushSync();
    const text = target.textContent ?? '';
    const f = target.querySelector<HTMLElement>('[data-testid="detail-findings"] [data-testid="finding"]');
    expect(f?.dataset.key).toBe(finding.key);
    expect(f?.querySelector('[data-testid="finding-summary"]')?.textContent).toBe(SUMMARY);
    expect(target.querySelector('[data-testid="who-user-agent"]')?.textContent).toBe(UA);
    expect(target.querySelector('[data-testid="detail-tags"]')?.textContent).toContain(TAG);
    expect(text).toContain('<marquee>why</marquee>');
    expect(text).toContain('<script>b()</script>');
    expect(text).toContain('<h1>note</h1>');
    const chips = [...target.querySelectorAll<HTMLElement>('[data-testid="tag-chip"]')];
    expect(chips.map((c) => c.dataset.tag)).toEqual(row.tags);
    expect(chips[0]?.textContent).toContain(NOTE_TAG);
    expect(target.querySelector('[data-testid="comment-body"]')?.textContent).toBe(COMMENT);
    expect(markupElements(target)).toEqual([]);
    expect((window as unknown as { __pwned?: unknown }).__pwned).toBeUndefined();
  });

  it('renders a list row as text and keeps hostile data attributes inert', () => {
    const target = document.createElement('div');
    document.body.append(target);
    app = mount(ChangeRowView, {
      target,
      props: { row, index: 0, top: 0, selected: false, zone: 'utc', columns: COLUMNS.map((c) => c.id), onpick: () => {} },
    });
    flushSync();
    const el = target.querySelector('[data-testid="change-row"]') as HTMLElement;
    expect(el.dataset.assetLabel).toBe('"><svg onload=alert(1)>');
    expect(el.dataset.action).toBe('<script>a()</script>');
    expect(el.textContent).toContain('"><svg onload=alert(1)>');
    expect(el.dataset.starred).toBe('true');
    const tags = [...target.querySelectorAll<HTMLElement>('[data-testid="row-tag"]')];
    expect(tags.map((t) => t.textContent)).toEqual([row.tags[0]]);
    expect(tags[0]?.title).toBe(row.tags.join(', '));
    expect(target.querySelector('[data-testid="row-comments"]')?.textContent).toBe('1');
    expect(markupElements(target)).toEqual([]);
    const flag = target.querySelector<HTMLElement>('[data-testid="row-flag"]');
    expect(flag?.dataset.rules).toBe(row.findings.join(' '));
    expect(flag?.title).toBe(`Findings: Reverted change, ${row.findings[1]}`);
    // The row is placed through the CSSOM, not a style attribute written as markup.
    expect(el.style.transform).toBe('translateY(0px)');
  });
});

describe('hostile finding text', () => {
  it('renders the Findings panel and the rules\' notes as text only', () => {
    const target = document.createElement('div');
    document.body.append(target);
    app = mount(FindingsPanel, {
      target,
      props: {
        overview: {
          findings: [finding],
          matching: 1,
          total: 1,
          by_rule: [{ rule: 'reverted_change', count: 1 }],
          by_severity: [{ severity: 'high', count: 1 }],
          newest_id: 1,
          unseen: 0,
        },
        statuses,
        loaded: true,
        reading: null,
        rulesProblem: null,
        error: null,
        zone: 'utc',
        activeKey: null,
        filter: { rule: null, severity: null },
        page: 200,
        onfilter: () => {},
        onmore: () => {},
        onopen: () => {},
        onrules: () => {},
      },
    });
    flushSync();
    expect(target.querySelector('[data-testid="finding-summary"]')?.textContent).toBe(SUMMARY);
    // Like Rust's principal_short: the ARN's last path part.
    expect(target.querySelector('[data-testid="finding-principal"]')?.textContent).toBe('<em>e</em>');
    const status = target.querySelector<HTMLElement>('[data-testid="rule-status"][data-rule="impossible_travel"]');
    expect(status?.dataset.active).toBe('false');
    expect(status?.textContent).toContain('<img src=x onerror=alert(4)>');
    expect(markupElements(target)).toEqual([]);
    expect((window as unknown as { __pwned?: unknown }).__pwned).toBeUndefined();
  });
});

describe('component sources', () => {
  const dir = join(__dirname, '..');
  const files = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(d, e.name)) : e.name.endsWith('.svelte') ? [join(d, e.name)] : [],
    );

  it('never inject markup or write inline style attributes', () => {
    const all = files(dir);
    expect(all.length).toBeGreaterThan(10);
    const offenders = all.flatMap((f) => {
      const src = readFileSync(f, 'utf8');
      return [/\{@html\b/, /\binnerHTML\b/, /\bouterHTML\b/, /insertAdjacentHTML/, /\sstyle=["{]/]
        .filter((re) => re.test(src))
        .map((re) => `${f.slice(dir.length + 1)}: ${re.source}`);
    });
    expect(offenders).toEqual([]);
  });
});
