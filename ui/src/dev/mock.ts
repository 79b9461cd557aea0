// A stand-in for the Rust side, for looking at the page in a plain browser (`npm run dev`, then
// open /mock.html). Never part of the app build: only mock.html imports it.
//
// URL parameters: session=demo|offline (skip the start screen), rows=N (add N synthetic rows to
// test the virtual list), rate=ms (live event interval, 0 = none), hostile=1 (a hostile event),
// conn=stopped|reconnecting (connection state shown).
import { mockIPC } from '@tauri-apps/api/mocks';
import type { Channel } from '@tauri-apps/api/core';
import type { ChangeDetail } from '../api/bindings/ChangeDetail';
import type { ChangeKind } from '../api/bindings/ChangeKind';
import type { ChangeRow } from '../api/bindings/ChangeRow';
import type { FacetCount } from '../api/bindings/FacetCount';
import type { Facets } from '../api/bindings/Facets';
import type { LiveStatus } from '../api/bindings/LiveStatus';
import type { QuarantineEntry } from '../api/bindings/QuarantineEntry';
import type { SessionInfo } from '../api/bindings/SessionInfo';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';

const params = new URLSearchParams(location.search);
const BULK = Number(params.get('rows') ?? '0');
const RATE = Number(params.get('rate') ?? '1500');
const HOSTILE = params.get('hostile') === '1';

const ACCOUNT = '123456789012';
const JDOE = `arn:aws:iam::${ACCOUNT}:user/jdoe`;
const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const SG = `ohn:aws:${ACCOUNT}:us-east-1:network-firewall:sg-0db5e1c2a3b4c5d6e`;
const DB = `ohn:aws:${ACCOUNT}:us-east-1:database-instance:prod-payments-db`;
const VPC = `ohn:aws:${ACCOUNT}:us-east-1:network-vpc:vpc-0a11b22c33d44e55f`;
const USER = `ohn:aws:${ACCOUNT}:global:iam-user:AIDA4EXAMPLEBKUP0001`;

type Stored = { row: ChangeRow; detail: Omit<ChangeDetail, 'row'> };
const events: Stored[] = []; // oldest first
let seq = 0;
const t0 = Date.now() - 40 * 60_000;

function rowOf(p: Partial<ChangeRow> & { time: string; asset_label: string }): ChangeRow {
  seq += 1;
  return {
    seq,
    change: 'update',
    event_type: `com.opshelm.asset.${p.change ?? 'update'}`,
    asset_name: null,
    asset_type: null,
    region: 'us-east-1',
    account: ACCOUNT,
    action: null,
    principal: JDOE,
    principal_short: 'jdoe',
    method: 'console',
    source_ip: '198.51.100.23',
    summary: '',
    ...p,
  };
}

function who(r: ChangeRow, extra: Partial<ChangeDetail['who']> = {}): ChangeDetail['who'] {
  const reasons: Record<string, string> = {
    console: 'user agent is a web browser and sessionCredentialFromConsole is true',
    cli: 'user agent starts with aws-cli/',
    terraform: 'user agent names Terraform',
    sdk: 'user agent names an AWS SDK',
    provider: 'the principal is an AWS service',
  };
  return {
    principal: r.principal,
    principal_short: r.principal_short,
    principal_id: 'AIDA4EXAMPLEJDOE0001',
    assumed_role: null,
    assumed_id: null,
    source_ip: r.source_ip,
    user_agent: CHROME_UA,
    method: r.method,
    method_reason: reasons[r.method ?? ''] ?? 'no rule matched',
    ...extra,
  };
}

function add(row: ChangeRow, detail: Partial<Omit<ChangeDetail, 'row'>> = {}) {
  events.push({
    row,
    detail: {
      who: who(row),
      changes: [],
      unified: null,
      side_by_side: [],
      config: null,
      diff_note: null,
      associations: [],
      raw_text: JSON.stringify({ eventName: row.action, eventTime: row.time, sourceIPAddress: row.source_ip }, null, 2),
      tags: [],
      ...detail,
    },
  });
}

const iso = (ms: number) => new Date(ms).toISOString();

const SG_ASSOC = [
  { name: DB, asset_type: 'database.instance', relation: 'protects', label: 'prod-payments-db', known: true },
  { name: VPC, asset_type: 'network.vpc', relation: 'member_of', label: 'vpc-0a11b22c33d44e55f', known: false },
];

const SG_BEFORE = `{
  "GroupId": "sg-0db5e1c2a3b4c5d6e",
  "GroupName": "prod-db-sg",
  "IpPermissions": [
    {
      "FromPort": 5432,
      "IpProtocol": "tcp",
      "IpRanges": [],
      "ToPort": 5432
    }
  ]
}`;

function seed() {
  add(
    rowOf({
      time: iso(t0),
      change: 'update',
      asset_name: DB,
      asset_label: 'prod-payments-db',
      asset_type: 'database.instance',
      action: 'ModifyDBInstance',
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/terraform-ci/gh-actions-8812`,
      principal_short: 'terraform-ci/gh-actions-8812',
      method: 'terraform',
      source_ip: '192.0.2.10',
      summary: 'BackupRetentionPeriod 7 → 14',
    }),
    {
      changes: [{ path: 'BackupRetentionPeriod', op: 'changed', before: '7', after: '14' }],
      unified: '--- previous\n+++ current\n@@ -1,3 +1,3 @@\n {\n-  "BackupRetentionPeriod": 7\n+  "BackupRetentionPeriod": 14\n }\n',
      side_by_side: [
        { left_no: 1, left: '{', right_no: 1, right: '{', left_kind: 'equal', right_kind: 'equal' },
        { left_no: 2, left: '  "BackupRetentionPeriod": 7', right_no: 2, right: '  "BackupRetentionPeriod": 14', left_kind: 'removed', right_kind: 'added' },
        { left_no: 3, left: '}', right_no: 3, right: '}', left_kind: 'equal', right_kind: 'equal' },
      ],
    },
  );
  add(
    rowOf({
      time: iso(t0 + 60_000),
      change: 'create',
      asset_name: USER,
      asset_label: 'svc-backup-tmp',
      asset_type: 'iam.user',
      region: 'global',
      action: 'CreateUser',
      summary: 'user svc-backup-tmp created',
    }),
    { config: { label: 'new', text: '{\n  "UserName": "svc-backup-tmp",\n  "Path": "/",\n  "AttachedManagedPolicies": []\n}' } },
  );
  add(
    rowOf({
      time: iso(t0 + 120_000),
      change: 'update',
      asset_name: SG,
      asset_label: 'prod-db-sg',
      asset_type: 'network.firewall',
      action: 'AuthorizeSecurityGroupIngress',
      summary: 'ingress tcp/5432 from 203.0.113.66/32 added',
    }),
    {
      changes: [
        {
          path: 'IpPermissions[0].IpRanges[0]',
          op: 'added',
          before: null,
          after: '{"CidrIp":"203.0.113.66/32","Description":"temp vendor access"}',
        },
      ],
      unified:
        '--- previous\n+++ current\n@@ -5,7 +5,12 @@\n       "FromPort": 5432,\n       "IpProtocol": "tcp",\n-      "IpRanges": [],\n+      "IpRanges": [\n+        {\n+          "CidrIp": "203.0.113.66/32",\n+          "Description": "temp vendor access"\n+        }\n+      ],\n       "ToPort": 5432\n     }\n   ]\n',
      side_by_side: [
        { left_no: 5, left: '      "FromPort": 5432,', right_no: 5, right: '      "FromPort": 5432,', left_kind: 'equal', right_kind: 'equal' },
        { left_no: 6, left: '      "IpProtocol": "tcp",', right_no: 6, right: '      "IpProtocol": "tcp",', left_kind: 'equal', right_kind: 'equal' },
        { left_no: 7, left: '      "IpRanges": [],', right_no: 7, right: '      "IpRanges": [', left_kind: 'removed', right_kind: 'added' },
        { left_no: null, left: null, right_no: 8, right: '        {', left_kind: 'equal', right_kind: 'added' },
        { left_no: null, left: null, right_no: 9, right: '          "CidrIp": "203.0.113.66/32",', left_kind: 'equal', right_kind: 'added' },
        { left_no: null, left: null, right_no: 10, right: '          "Description": "temp vendor access"', left_kind: 'equal', right_kind: 'added' },
        { left_no: null, left: null, right_no: 11, right: '        }', left_kind: 'equal', right_kind: 'added' },
        { left_no: null, left: null, right_no: 12, right: '      ],', left_kind: 'equal', right_kind: 'added' },
        { left_no: 8, left: '      "ToPort": 5432', right_no: 13, right: '      "ToPort": 5432', left_kind: 'equal', right_kind: 'equal' },
      ],
      associations: SG_ASSOC,
      tags: [
        ['Name', 'prod-db-sg'],
        ['team', 'payments'],
      ],
      raw_text: JSON.stringify(
        {
          eventName: 'AuthorizeSecurityGroupIngress',
          sourceIPAddress: '198.51.100.23',
          userAgent: CHROME_UA,
          requestParameters: { groupId: 'sg-0db5e1c2a3b4c5d6e', ipPermissions: { items: [{ cidrIp: '203.0.113.66/32' }] } },
        },
        null,
        2,
      ),
    },
  );
  add(
    rowOf({
      time: iso(t0 + 18 * 60_000),
      change: 'update',
      asset_name: SG,
      asset_label: 'prod-db-sg',
      asset_type: 'network.firewall',
      action: 'RevokeSecurityGroupIngress',
      summary: 'ingress tcp/5432 from 203.0.113.66/32 removed',
    }),
    {
      changes: [
        {
          path: 'IpPermissions[0].IpRanges[0]',
          op: 'removed',
          before: '{"CidrIp":"203.0.113.66/32","Description":"temp vendor access"}',
          after: null,
        },
      ],
      unified: '--- previous\n+++ current\n@@ -7,6 +7,1 @@\n-      "IpRanges": [\n-        {\n-          "CidrIp": "203.0.113.66/32"\n-        }\n-      ],\n+      "IpRanges": [],\n',
      associations: SG_ASSOC,
    },
  );
  add(
    rowOf({
      time: iso(t0 + 19 * 60_000),
      change: 'delete',
      asset_name: USER,
      asset_label: 'svc-backup-tmp',
      asset_type: 'iam.user',
      region: 'global',
      action: 'DeleteUser',
      summary: 'user svc-backup-tmp deleted',
    }),
    { config: { label: 'deleted', text: SG_BEFORE } },
  );
  add(
    rowOf({
      time: iso(t0 + 19.5 * 60_000),
      change: null,
      event_type: 'com.opshelm.cost.update',
      asset_label: 'cost update',
      region: null,
      action: null,
      principal: null,
      principal_short: null,
      method: null,
      source_ip: null,
      summary: 'daily cost estimate changed',
    }),
  );
  if (HOSTILE) {
    const ua = '<img src=x onerror="window.__pwned=1">';
    const r = rowOf({
      time: iso(t0 + 20 * 60_000),
      change: 'update',
      asset_name: 'ohn:aws:1:us-east-1:x:<b>bold</b>',
      asset_label: '"><svg onload=alert(1)>' + 'A'.repeat(300),
      asset_type: '<i>type</i>',
      action: '<script>window.__pwned=3</script>',
      principal: 'arn:aws:iam::1:user/' + 'x'.repeat(400),
      principal_short: '<u>evil</u>',
      method: '<img src=x>',
      source_ip: '075.050.255.67',
      summary: '<img src=x onerror="window.__pwned=4">' + ' long'.repeat(80),
    });
    add(r, {
      who: who(r, { user_agent: ua, principal_id: 'Z'.repeat(500) }),
      tags: [['team', '<script>window.__pwned=2</script>']],
      changes: [{ path: '<img src=x onerror=alert(1)>'.repeat(5), op: 'changed', before: '"a"', after: '"' + 'b'.repeat(600) + '"' }],
    });
  }
}

// --- background -------------------------------------------------------------------------------
const TYPES = ['compute.instance', 'storage.bucket', 'network.firewall', 'iam.role', 'serverless.function', 'kms.key', 'dns.record'];
const ACTIONS: Record<string, string[]> = {
  'compute.instance': ['RunInstances', 'StopInstances', 'ModifyInstanceAttribute'],
  'storage.bucket': ['PutBucketPolicy', 'PutBucketTagging', 'CreateBucket'],
  'network.firewall': ['AuthorizeSecurityGroupEgress', 'UpdateSecurityGroupRuleDescriptionsIngress'],
  'iam.role': ['UpdateAssumeRolePolicy', 'AttachRolePolicy', 'TagRole'],
  'serverless.function': ['UpdateFunctionCode', 'UpdateFunctionConfiguration'],
  'kms.key': ['EnableKeyRotation', 'TagResource'],
  'dns.record': ['ChangeResourceRecordSets'],
};
const PEOPLE: Array<[string, string, string]> = [
  [`arn:aws:sts::${ACCOUNT}:assumed-role/terraform-ci/gh-actions-9001`, 'terraform-ci/gh-actions-9001', 'terraform'],
  [`arn:aws:sts::${ACCOUNT}:assumed-role/ops-engineer/asmith@example.com`, 'asmith@example.com', 'cli'],
  ['autoscaling.amazonaws.com', 'autoscaling', 'provider'],
  [`arn:aws:iam::${ACCOUNT}:user/deploy-bot`, 'deploy-bot', 'sdk'],
  [JDOE, 'jdoe', 'console'],
];
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];

function pick<T>(xs: T[], n: number): T {
  return xs[Math.abs(n) % xs.length]!;
}

function synthetic(s: number, timeMs: number): ChangeRow {
  const h = Math.imul(s, 2654435761) >>> 0;
  const type = pick(TYPES, h);
  const [principal, short, method] = pick(PEOPLE, h >>> 5);
  const change: ChangeKind = pick(['update', 'update', 'update', 'create', 'delete'] as ChangeKind[], h >>> 9);
  const id = (h % 997).toString().padStart(3, '0');
  return {
    seq: s,
    time: iso(timeMs),
    change,
    event_type: `com.opshelm.asset.${change}`,
    asset_name: `ohn:aws:${ACCOUNT}:us-east-1:${type}:${id}`,
    asset_label: `${type.split('.')[1]}-${id}`,
    asset_type: type,
    region: pick(REGIONS, h >>> 13),
    account: ACCOUNT,
    action: pick(ACTIONS[type]!, h >>> 17),
    principal,
    principal_short: short,
    method,
    source_ip: method === 'provider' ? principal : `192.0.2.${h % 250}`,
    summary: change === 'update' ? 'Tags.env staging → prod' : `${type} ${change}d`,
  };
}

function addBackground(timeMs: number) {
  seq += 1;
  const r = synthetic(seq, timeMs);
  add(r, {
    changes:
      r.change === 'update' ? [{ path: 'Tags.env', op: 'changed', before: '"staging"', after: '"prod"' }] : [],
    unified:
      r.change === 'update' ? '--- previous\n+++ current\n@@ -1,3 +1,3 @@\n {\n-  "env": "staging"\n+  "env": "prod"\n }\n' : null,
    config: r.change === 'create' ? { label: 'new', text: '{\n  "env": "prod"\n}' } : r.change === 'delete' ? { label: 'deleted', text: '{\n  "env": "prod"\n}' } : null,
  });
}

seed();
for (let i = 0; i < 60; i++) addBackground(t0 + 21 * 60_000 + i * 15_000);

// --- queries ----------------------------------------------------------------------------------
function matches(r: ChangeRow, q: TimelineQuery, skip?: keyof TimelineQuery): boolean {
  const inList = (k: keyof TimelineQuery, v: string | null) => {
    const list = q[k] as string[];
    return k === skip || list.length === 0 || (v !== null && list.includes(v));
  };
  if (!inList('changes', r.change)) return false;
  if (!inList('asset_types', r.asset_type)) return false;
  if (!inList('methods', r.method ?? 'unknown')) return false;
  if (!inList('principals', r.principal)) return false;
  if (!inList('regions', r.region)) return false;
  if (!inList('accounts', r.account)) return false;
  if (q.time_from && r.time < q.time_from) return false;
  if (q.time_to && r.time > q.time_to) return false;
  if (q.asset_name && r.asset_name !== q.asset_name) return false;
  if (q.text) {
    const t = q.text.toLowerCase();
    const hay = [r.asset_label, r.asset_name, r.principal, r.source_ip, r.action].join(' ').toLowerCase();
    if (!hay.includes(t)) return false;
  }
  return true;
}

function isEmpty(q: TimelineQuery): boolean {
  return (
    q.changes.length + q.asset_types.length + q.methods.length + q.principals.length + q.regions.length + q.accounts.length ===
      0 && !q.time_from && !q.time_to && !q.text && !q.asset_name
  );
}

function matching(q: TimelineQuery): ChangeRow[] {
  const out: ChangeRow[] = [];
  for (let i = events.length - 1; i >= 0; i--) if (matches(events[i]!.row, q)) out.push(events[i]!.row);
  return out;
}

function listChanges(q: TimelineQuery, offset: number, limit: number) {
  const rows = matching(q);
  const bulk = isEmpty(q) ? BULK : 0;
  const total = rows.length + bulk;
  const out: ChangeRow[] = [];
  for (let i = offset; i < Math.min(total, offset + limit); i++) {
    if (i < rows.length) out.push(rows[i]!);
    else {
      const k = i - rows.length; // 0 = newest synthetic
      out.push(synthetic(-(k + 1), t0 - (k + 1) * 2000));
    }
  }
  return { rows: out, total };
}

function facet(q: TimelineQuery, skip: keyof TimelineQuery, key: (r: ChangeRow) => string | null, label?: (r: ChangeRow) => string): FacetCount[] {
  const counts = new Map<string, FacetCount>();
  for (const e of events) {
    if (!matches(e.row, q, skip)) continue;
    const v = key(e.row);
    if (v === null) continue;
    const c = counts.get(v) ?? { value: v, label: label ? label(e.row) : v, count: 0 };
    c.count++;
    counts.set(v, c);
  }
  return [...counts.values()].sort((a, b) => b.count - a.count);
}

function facets(q: TimelineQuery): Facets {
  return {
    change: facet(q, 'changes', (r) => r.change),
    asset_type: facet(q, 'asset_types', (r) => r.asset_type),
    method: facet(q, 'methods', (r) => r.method ?? 'unknown'),
    principal: facet(q, 'principals', (r) => r.principal, (r) => r.principal_short ?? r.principal ?? ''),
    region: facet(q, 'regions', (r) => r.region),
    account: facet(q, 'accounts', (r) => r.account),
  };
}

// --- live ----------------------------------------------------------------------------------------
const mode = params.get('session');
let session: SessionInfo | null =
  mode === 'demo' || mode === 'offline'
    ? { path: '/home/analyst/.local/share/tideline/demo-2024-05-05.tideline', mode, endpoint: null, key_storage: null, key_note: null }
    : null;
const listeners: Array<Channel<LiveStatus>> = [];
let quarantinedCount = 2;

const CONN = params.get('conn');
function connection(): LiveStatus['connection'] {
  if (session?.mode === 'offline') return { state: 'offline' };
  if (CONN === 'stopped') return { state: 'stopped', reason: 'the EventStream rejected the API key (HTTP 401)' };
  if (CONN === 'reconnecting') {
    return { state: 'reconnecting', attempt: 3, next_try_at: new Date(Date.now() + 7000).toISOString(), reason: 'HTTP 503 from the EventStream' };
  }
  return { state: 'live' };
}

function status(): LiveStatus {
  const newest = events[events.length - 1]?.row;
  return {
    connection: connection(),
    received: events.length + BULK + 7,
    stored: events.length + BULK,
    duplicates: 7,
    quarantined: quarantinedCount,
    newest_event_time: newest?.time ?? null,
    newest_seq: newest?.seq ?? null,
  };
}

function push() {
  const s = status();
  for (const ch of listeners) ch.onmessage(s);
}

if (RATE > 0) {
  setInterval(() => {
    if (!session || session.mode === 'offline') return;
    addBackground(Date.now() - 1500);
    push();
  }, RATE);
}

const QUARANTINE: QuarantineEntry[] = [
  {
    id: 1,
    received_at: iso(t0 + 5 * 60_000),
    reason: 'missing required field "time"',
    sse_id: '01HX00000000000000000000Q1',
    raw_preview: '{"specversion":"1.0","id":"q1","source":"/cloudAccounts/x","type":"com.opshelm.asset.update"}',
    raw_len: 91,
  },
  {
    id: 2,
    received_at: iso(t0 + 9 * 60_000),
    reason: 'frame is not JSON: expected value at line 1 column 1',
    sse_id: null,
    raw_preview: '<script>window.__pwned=5</script> ' + 'garbage '.repeat(120),
    raw_len: 2_000_000,
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

mockIPC(async (cmd, payload) => {
  const a = (payload ?? {}) as Record<string, unknown>;
  await sleep(cmd === 'list_changes' ? 15 : 30);
  switch (cmd) {
    case 'current_session':
      return session;
    case 'start_demo':
      session = { path: '/tmp/demo.tideline', mode: 'demo', endpoint: null, key_storage: null, key_note: null };
      return session;
    case 'connect_stream':
      if (a.apiKey === 'bad') throw { kind: 'unauthorized', message: 'The EventStream refused the API key (HTTP 401).' };
      session = {
        path: '/tmp/live.tideline',
        mode: 'live',
        endpoint: String(a.endpoint),
        key_storage: 'memory',
        key_note: 'No OS keyring is available (Secret Service not running): the API key is kept in memory for this run only.',
      };
      return session;
    case 'open_session':
      return null;
    case 'list_changes':
      return listChanges(a.query as TimelineQuery, a.offset as number, a.limit as number);
    case 'facets':
      return facets(a.query as TimelineQuery);
    case 'change_detail': {
      const s = a.seq as number;
      const e = events.find((x) => x.row.seq === s);
      if (!e) {
        if (s < 0) {
          const r = synthetic(s, t0 + s * 2000);
          return { row: r, who: who(r), changes: [], unified: null, side_by_side: [], config: null, diff_note: 'previous configuration unknown', associations: [], raw_text: null, tags: [] };
        }
        throw { kind: 'not_found', message: `no change with seq ${s}` };
      }
      return { row: e.row, ...e.detail } satisfies ChangeDetail;
    }
    case 'asset_history':
      return events.filter((e) => e.row.asset_name === a.assetName).map((e) => ({ row: e.row }));
    case 'quarantined':
      return QUARANTINE.slice(0, quarantinedCount);
    case 'watch_live': {
      const ch = a.onStatus as Channel<LiveStatus>;
      listeners.push(ch);
      setTimeout(() => ch.onmessage(status()), 0);
      return null;
    }
    default:
      throw { kind: 'unknown_command', message: `mock has no command ${cmd}` };
  }
});
