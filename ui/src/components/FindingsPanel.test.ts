// @vitest-environment jsdom
// The Findings panel at the sizes a long incident reaches: a grouped finding reads as one line
// with its count and first and last times, and of thousands of findings Rust sends a page; the
// panel offers the next one and says how many the filter hides. While the rules still read the
// session (a first open's rebuild takes about a minute at 1M events), an empty panel says so
// rather than "No findings".
import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { Finding } from '../api/bindings/Finding';
import type { FindingsOverview } from '../api/bindings/FindingsOverview';
import FindingsPanel from './FindingsPanel.svelte';

const finding = (n: number, count: number): Finding => ({
  key: `new_source_ip:arn:aws:iam::1:user/jdoe|203.0.113.${n}`,
  rule: 'new_source_ip',
  severity: 'medium',
  events: [{ seq: n, source: '/cloudAccounts/1', event_id: `e${n}` }],
  asset: null,
  asset_label: null,
  principal: 'arn:aws:iam::1:user/jdoe',
  principal_short: 'jdoe',
  summary: `jdoe made a change from 203.0.113.${n}, an address not seen for this principal before`,
  time: '2024-05-01T12:00:00Z',
  time_us: 1714564800000000 + n,
  count,
  first_time: '2024-05-01T12:00:00Z',
  last_time: '2024-05-02T09:15:30Z',
});

let app: Record<string, unknown> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = '';
});

/** An overview as Rust would send it: `listed` of `matching` findings, `total` in all. */
function overview(listed: Finding[], matching = listed.length, total = matching): FindingsOverview {
  return {
    findings: listed,
    matching,
    total,
    by_rule: [
      { rule: 'new_source_ip', count: matching },
      { rule: 'reverted_change', count: total - matching },
    ],
    by_severity: [
      { severity: 'high', count: total - matching },
      { severity: 'medium', count: matching },
      { severity: 'low', count: 0 },
    ],
    newest_id: total,
    unseen: 0,
  };
}

let more = 0;
let filters: unknown[] = [];

function panel(
  data: FindingsOverview,
  reading: { read: number; of: number } | null = null,
  rulesProblem: string | null = null,
): HTMLElement {
  const target = document.createElement('div');
  document.body.append(target);
  more = 0;
  filters = [];
  app = mount(FindingsPanel, {
    target,
    props: {
      overview: data,
      statuses: [],
      loaded: true,
      reading,
      rulesProblem,
      error: null,
      zone: 'utc',
      activeKey: null,
      filter: { rule: null, severity: null },
      page: 200,
      onfilter: (f) => filters.push(f),
      onmore: () => more++,
      onopen: () => {},
      onrules: () => {},
    },
  });
  flushSync();
  return target;
}

describe('the Findings panel', () => {
  it('shows a grouped finding once, with how many events and the first and last', () => {
    // In Rust's order (most severe, then newest first).
    const target = panel(overview([finding(2, 1), finding(1, 1204)]));
    const counts = [...target.querySelectorAll<HTMLElement>('[data-testid="finding-events"]')];
    expect(counts.map((el) => el.textContent)).toEqual([
      '1 event',
      '×1,204 · first 05-01 12:00:00 · last 05-02 09:15:30',
    ]);
    expect(counts[1]!.dataset.count).toBe('1204');
    expect(counts[1]!.title).toBe('1,204 events');
  });

  it('lists the page Rust sent of thousands, offers the next and counts what the filter hides', () => {
    const page = Array.from({ length: 200 }, (_, n) => finding(n, 1));
    const target = panel(overview(page, 1_450, 1_500));
    expect(target.querySelector('[data-testid="findings-total"]')?.textContent).toBe('1,500');
    expect(target.querySelectorAll('[data-testid="finding"]').length).toBe(200);
    const button = target.querySelector<HTMLButtonElement>('[data-testid="findings-more"]');
    expect(button?.textContent?.trim()).toBe('Show 200 more of 1,250');
    button!.click();
    expect(more).toBe(1);
    expect(target.textContent).toContain('50 more hidden by the filter.');
    const rule = target.querySelector<HTMLSelectElement>('[data-testid="finding-filter-rule"]')!;
    expect([...rule.options].map((o) => o.textContent)).toContain('New source IP (1,450)');
    rule.value = 'reverted_change';
    rule.dispatchEvent(new Event('change', { bubbles: true }));
    expect(filters).toEqual([{ rule: 'reverted_change', severity: null }]);
  });

  it('offers no more once every match is listed', () => {
    const target = panel(overview([finding(1, 1), finding(2, 1)]));
    expect(target.querySelector('[data-testid="findings-more"]')).toBeNull();
  });

  it('says the rules are still reading, not that there is nothing, while they read the session', () => {
    const empty = panel(overview([]), { read: 412_000, of: 1_000_000 });
    const note = empty.querySelector('[data-testid="findings-empty"]')?.textContent ?? '';
    expect(note).toContain('still reading');
    expect(note).toContain('412,000 of 1,000,000 events · 41%');
    expect(note).not.toContain('No findings');
    unmount(app!);
    app = null;

    // Read to the end with none found: now the panel says there are none.
    const done = panel(overview([]), null);
    expect(done.querySelector('[data-testid="findings-empty"]')?.textContent).toContain('No findings.');
    expect(done.querySelector('[data-testid="findings-reading"]')).toBeNull();
    unmount(app!);
    app = null;

    // Some already listed (resumed, or stored before a change of settings): they are shown,
    // with a note that more may come.
    const some = panel(overview([finding(1, 3)]), { read: 0, of: 0 });
    expect(some.querySelectorAll('[data-testid="finding"]').length).toBe(1);
    expect(some.querySelector('[data-testid="findings-reading"]')?.textContent).toContain('more findings may come');
  });

  it('says the rules could not read the session when their pass failed, as text', () => {
    const target = panel(overview([]), { read: 0, of: 0 }, 'database is locked <img src=x onerror=alert(1)>');
    const problem = target.querySelector('[data-testid="findings-problem"]');
    expect(problem?.textContent).toContain('could not read this session (database is locked <img');
    expect(target.querySelector('img')).toBeNull();
    const empty = target.querySelector('[data-testid="findings-empty"]')?.textContent ?? '';
    expect(empty).toContain('have not read this session yet');
    expect(empty).not.toContain('still reading');
    expect(empty).not.toContain('No findings');
  });
});
