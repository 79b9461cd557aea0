// @vitest-environment jsdom
// The Findings panel at the sizes a long incident reaches: a grouped finding reads as one line
// with its count and first and last times, and thousands of findings are listed a page at a
// time.
import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { Finding } from '../api/bindings/Finding';
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

function panel(findings: Finding[]): HTMLElement {
  const target = document.createElement('div');
  document.body.append(target);
  app = mount(FindingsPanel, {
    target,
    props: {
      findings,
      statuses: [],
      loaded: true,
      error: null,
      zone: 'utc',
      activeKey: null,
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
    const target = panel([finding(2, 1), finding(1, 1204)]);
    const counts = [...target.querySelectorAll<HTMLElement>('[data-testid="finding-events"]')];
    expect(counts.map((el) => el.textContent)).toEqual([
      '1 event',
      '×1,204 · first 05-01 12:00:00 · last 05-02 09:15:30',
    ]);
    expect(counts[1]!.dataset.count).toBe('1204');
    expect(counts[1]!.title).toBe('1,204 events');
  });

  it('lists thousands of findings a page at a time', () => {
    const many = Array.from({ length: 450 }, (_, n) => finding(n, 1));
    const target = panel(many);
    const listed = () => target.querySelectorAll('[data-testid="finding"]').length;
    expect(target.querySelector('[data-testid="findings-total"]')?.textContent).toBe('450');
    expect(listed()).toBe(200);
    const more = () => target.querySelector<HTMLButtonElement>('[data-testid="findings-more"]');
    expect(more()?.textContent?.trim()).toBe('Show 200 more of 250');
    more()!.click();
    flushSync();
    expect(listed()).toBe(400);
    more()!.click();
    flushSync();
    expect(listed()).toBe(450);
    expect(more()).toBeNull();
  });
});
