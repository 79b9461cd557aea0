// A stand-in for the Rust side, for looking at the page in a plain browser (`npm run dev`, then
// open /mock.html). Never part of the app build: only mock.html imports it.
//
// URL parameters: session=demo|live|offline (skip the start screen), rows=N (add N synthetic
// rows to test the virtual list), rate=ms (live event interval, 0 = none), hostile=1 (a hostile
// event), conn=stopped|reconnecting (connection state shown), broken=1 (the integrity chain
// breaks), keyring=0 (resuming asks for the API key), task_ms=N (how long an export or import
// takes), save_error=1 (saving the detection settings fails), findings_every=N (every Nth live
// event is flagged; 0 = none). `window.tidelineMenu({action: ...})` plays a native File-menu
// choice.
import { mockIPC } from '@tauri-apps/api/mocks';
import type { Channel } from '@tauri-apps/api/core';
import type { Annotations } from '../api/bindings/Annotations';
import type { ChangeDetail } from '../api/bindings/ChangeDetail';
import type { ChangeKind } from '../api/bindings/ChangeKind';
import type { ChangeRow } from '../api/bindings/ChangeRow';
import type { DetectionSettings } from '../api/bindings/DetectionSettings';
import type { FacetCount } from '../api/bindings/FacetCount';
import type { Facets } from '../api/bindings/Facets';
import type { Finding } from '../api/bindings/Finding';
import type { Insights } from '../api/bindings/Insights';
import type { LiveStatus } from '../api/bindings/LiveStatus';
import type { MenuAction } from '../api/bindings/MenuAction';
import type { QuarantineEntry } from '../api/bindings/QuarantineEntry';
import type { RateBucket } from '../api/bindings/RateBucket';
import type { RuleId } from '../api/bindings/RuleId';
import type { RuleStatus } from '../api/bindings/RuleStatus';
import type { SessionInfo } from '../api/bindings/SessionInfo';
import type { TaskOutcome } from '../api/bindings/TaskOutcome';
import type { TaskProgress } from '../api/bindings/TaskProgress';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';
import type { Verification } from '../api/bindings/Verification';

const params = new URLSearchParams(location.search);
const BULK = Number(params.get('rows') ?? '0');
const RATE = Number(params.get('rate') ?? '1500');
const HOSTILE = params.get('hostile') === '1';
const BROKEN = params.get('broken') === '1';
const KEYRING = params.get('keyring') !== '0';
const TASK_MS = Number(params.get('task_ms') ?? '2500');
const SAVE_ERROR = params.get('save_error') === '1';
const FINDINGS_EVERY = Number(params.get('findings_every') ?? '6');

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

/** The analyst's annotations, by seq (rows are returned with them merged in). */
const notes = new Map<number, Annotations>();
let commentId = 0;

function annotationsOf(s: number): Annotations {
  return notes.get(s) ?? { starred: false, tags: [], comments: [] };
}

function annotated(r: ChangeRow): ChangeRow {
  const a = notes.get(r.seq);
  const flagged = { ...r, findings: rulesOf(r.seq) };
  return a ? { ...flagged, starred: a.starred, tags: a.tags, comment_count: a.comments.length } : flagged;
}

function annotate(s: number, change: (a: Annotations) => Annotations): Annotations {
  if (!events.some((e) => e.row.seq === s)) throw { kind: 'store', message: `there is no event #${s}` };
  const next = change(annotationsOf(s));
  notes.set(s, next);
  return next;
}

function rowOf(p: Partial<ChangeRow> & { time: string; asset_label: string }): ChangeRow {
  seq += 1;
  return {
    seq,
    starred: false,
    tags: [],
    comment_count: 0,
    findings: [],
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
      asset_tags: [],
      annotations: { starred: false, tags: [], comments: [] },
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
      asset_tags: [
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
      asset_tags: [['team', '<script>window.__pwned=2</script>']],
      annotations: { starred: false, tags: [], comments: [] },
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
    starred: false,
    tags: [],
    comment_count: 0,
    findings: [],
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

// What an analyst marked so far: the firewall opened to an outside address, and the user made
// for it.
notes.set(3, {
  starred: true,
  tags: ['exfil-path', 'vendor-access'],
  comments: [
    { id: ++commentId, body: 'Opened to 203.0.113.66 two minutes after svc-backup-tmp was created. Not a known vendor range.', created_at: iso(t0 + 30 * 60_000) },
  ],
});
notes.set(2, { starred: true, tags: ['exfil-path'], comments: [] });
notes.set(5, { starred: false, tags: [], comments: [{ id: ++commentId, body: 'Cleanup by the same principal.', created_at: iso(t0 + 31 * 60_000) }] });
if (HOSTILE) {
  const h = events.find((e) => e.row.source_ip === '075.050.255.67')!.row.seq;
  notes.set(h, {
    starred: true,
    tags: ['<img src=x onerror="window.__pwned=6">', '"><b>tag</b>'],
    comments: [{ id: ++commentId, body: '<script>window.__pwned=7</script>\n<b>not bold</b>', created_at: iso(t0 + 32 * 60_000) }],
  });
}

// --- detections ---------------------------------------------------------------------------------
const DEFAULT_SETTINGS: DetectionSettings = {
  learning_period_hours: 48,
  geoip_database: null,
  new_source_ip: { enabled: true, severity: 'medium' },
  console_where_iac: { enabled: true, severity: 'medium', managed_accounts: [], managed_assets: [] },
  unexpected_principal: { enabled: true, severity: 'medium', allowed: {}, flag_first_seen: true },
  unexpected_region: { enabled: true, severity: 'high', allowed: {} },
  off_hours: {
    enabled: true,
    severity: 'low',
    timezone: 'UTC',
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    start: '08:00',
    end: '19:00',
    ignore_methods: ['provider'],
    burst_factor: 10,
    burst_min_changes: 20,
  },
  impossible_travel: { enabled: true, severity: 'high', max_speed_kmh: 1000, min_distance_km: 300 },
  reverted_change: { enabled: true, severity: 'high', window_hours: 24 },
  short_lived_asset: { enabled: true, severity: 'high', window_hours: 24, ignore_methods: ['provider'] },
};
let settings: DetectionSettings = structuredClone(DEFAULT_SETTINGS);
/** Every finding the rules could raise, before the settings turn some off. */
const catalog: Finding[] = [];
let findingsVersion = 1;

function refOf(s: number) {
  return { seq: s, source: `/cloudAccounts/${ACCOUNT}`, event_id: `01HX${String(s).padStart(22, '0')}` };
}

function rowBySeq(s: number): ChangeRow {
  return events.find((e) => e.row.seq === s)!.row;
}

function raise(rule: RuleId, key: string, seqs: number[], principal: string | null, summary: string) {
  const first = rowBySeq(seqs[0]!);
  catalog.push({
    key: `${rule}:${key}`,
    rule,
    severity: DEFAULT_SETTINGS[rule].severity,
    events: seqs.map(refOf),
    asset: first.asset_name,
    asset_label: first.asset_label,
    principal,
    principal_short: principal === null ? null : principal.split('/').pop() ?? principal,
    summary,
    time: first.time,
    time_us: Date.parse(first.time) * 1000,
  });
}

function seedFindings() {
  const hm = (s: number) => rowBySeq(s).time.slice(11, 19);
  const day = rowBySeq(2).time.slice(0, 10);
  const weekday = WEEKDAY_NAMES[(new Date(rowBySeq(2).time).getUTCDay() + 6) % 7] ?? "";
  raise('new_source_ip', `${JDOE}|198.51.100.23`, [2], JDOE,
    'jdoe made a change from 198.51.100.23, an address not seen for this principal before (known: 192.0.2.44): CreateUser on svc-backup-tmp');
  raise('console_where_iac', `${SG}|3`, [3], JDOE,
    `jdoe changed prod-db-sg from the console (AuthorizeSecurityGroupIngress), but Terraform manages it (last Terraform change ${day} 09:12:40)`);
  raise('reverted_change', `${SG}|3|4`, [3, 4], JDOE,
    'prod-db-sg allowed 203.0.113.66/32 on 5432 for 16m00s: changed by jdoe, reverted by jdoe (RevokeSecurityGroupIngress)');
  raise('short_lived_asset', `${USER}|2`, [2, 5], JDOE,
    `svc-backup-tmp (iam.user) existed for 18m00s: created by jdoe (console, 198.51.100.23) at ${hm(2)}, deleted by jdoe (console, 198.51.100.23) at ${hm(5)}`);
  raise('off_hours', `${JDOE}|${day}`, [2, 3, 4, 5], JDOE,
    `jdoe made 4 changes on ${weekday.slice(0, 3)} ${day} between ${hm(2).slice(0, 5)} and ${hm(5).slice(0, 5)} UTC, outside working hours (mon,tue,wed,thu,fri 08:00–19:00 UTC)`);
  if (HOSTILE) {
    const h = events.find((e) => e.row.source_ip === '075.050.255.67')!.row;
    raise('unexpected_principal', `<b>evil</b>|${h.seq}`, [h.seq], h.principal,
      `<u>evil</u> had never been seen making changes before: <script>window.__pwned=3</script> on "><svg onload=alert(1)>${'A'.repeat(120)} (<img src=x>, 075.050.255.67)`);
  }
}

const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** A live background change flagged now and then, so new findings arrive while recording. */
function maybeFlag(r: ChangeRow) {
  if (FINDINGS_EVERY <= 0 || r.seq % FINDINGS_EVERY !== 0 || r.change !== 'create') return;
  raise('unexpected_region', `${ACCOUNT}|${r.region}|${r.seq}`, [r.seq], r.principal,
    `${r.principal_short} created ${r.asset_label} (${r.asset_type}) in ${r.region}, where account ${ACCOUNT} had no assets before (its assets were in us-east-1)`);
  findingsVersion++;
}

/** The findings as the settings let them be: turned-off rules raise none; severities as set. */
function findingsNow(): Finding[] {
  return catalog
    .filter((f) => settings[f.rule].enabled && (f.rule !== 'impossible_travel' || travelNote() === null))
    .map((f) => ({ ...f, severity: settings[f.rule].severity }))
    .sort((a, b) => a.time_us - b.time_us || (a.key < b.key ? -1 : 1));
}

function rulesOf(s: number): string[] {
  return [...new Set(findingsNow().filter((f) => f.events.some((e) => e.seq === s)).map((f) => f.rule))].sort();
}

function travelNote(): string | null {
  const path = settings.geoip_database?.trim() ?? '';
  if (path === '') return 'off: no GeoIP database is configured (settings: geoip_database, a MaxMind City .mmdb file)';
  if (!path.endsWith('.mmdb')) return `off: cannot read the GeoIP database ${path}: No such file or directory (os error 2)`;
  return null;
}

function ruleStatuses(): RuleStatus[] {
  const ids = Object.keys(DEFAULT_SETTINGS).filter((k) => typeof (DEFAULT_SETTINGS as Record<string, unknown>)[k] === 'object' && k !== 'geoip_database') as RuleId[];
  return ids.map((rule) => {
    if (!settings[rule].enabled) return { rule, active: false, note: 'turned off in the settings' };
    if (rule === 'impossible_travel') {
      const note = travelNote();
      return { rule, active: note === null, note };
    }
    if (rule === 'off_hours') {
      try {
        new Intl.DateTimeFormat('en', { timeZone: settings.off_hours.timezone });
      } catch {
        return { rule, active: true, note: `unknown time zone ${JSON.stringify(settings.off_hours.timezone)}: using UTC` };
      }
    }
    return { rule, active: true, note: null };
  });
}

const BUCKETS: Array<[number, string]> = [
  [60_000, 'minute'],
  [300_000, '5 minutes'],
  [900_000, '15 minutes'],
  [3_600_000, 'hour'],
  [21_600_000, '6 hours'],
  [86_400_000, 'day'],
  [604_800_000, 'week'],
  [2_592_000_000, '30 days'],
];

function insights(q: TimelineQuery): Insights {
  const rows = matching(q).filter((r) => r.change !== null);
  const heatmap = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  const top = (key: (r: ChangeRow) => string | null, label: (r: ChangeRow) => string): FacetCount[] => {
    const m = new Map<string, FacetCount>();
    for (const r of rows) {
      const v = key(r);
      if (v === null) continue;
      const c = m.get(v) ?? { value: v, label: label(r), count: 0 };
      c.count++;
      m.set(v, c);
    }
    return [...m.values()].sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1)).slice(0, 10);
  };
  let rate: RateBucket[] = [];
  let bucket = 'hour';
  if (rows.length > 0) {
    const times = rows.map((r) => Date.parse(r.time));
    const lo = Math.min(...times);
    const hi = Math.max(...times);
    const [width, name] = BUCKETS.find(([w]) => Math.floor((hi - lo) / w) < 200) ?? BUCKETS[BUCKETS.length - 1]!;
    bucket = name;
    const first = Math.floor(lo / width) * width;
    const n = Math.floor(hi / width) - Math.floor(lo / width) + 1;
    rate = Array.from({ length: n }, (_, i) => ({
      start: new Date(first + i * width).toISOString().replace('.000Z', 'Z'),
      end: new Date(first + (i + 1) * width).toISOString().replace('.000Z', 'Z'),
      create: 0,
      update: 0,
      delete: 0,
    }));
    rows.forEach((r, i) => {
      const b = rate[Math.floor((times[i]! - first) / width)]!;
      b[r.change!]++;
      const d = new Date(times[i]!);
      heatmap[(d.getUTCDay() + 6) % 7]![d.getUTCHours()]!++;
    });
  }
  return {
    rate,
    bucket,
    heatmap,
    top_assets: top((r) => r.asset_name, (r) => r.asset_label),
    top_principals: top((r) => r.principal, (r) => r.principal_short ?? r.principal ?? ''),
    methods: top((r) => r.method, (r) => r.method ?? ''),
  };
}

seedFindings();

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
  if (q.time_from && Date.parse(r.time) < Date.parse(q.time_from)) return false;
  if (q.time_to && Date.parse(r.time) > Date.parse(q.time_to)) return false;
  if (q.asset_name && r.asset_name !== q.asset_name) return false;
  const at = new Date(r.time);
  if (q.weekday !== null && (at.getUTCDay() + 6) % 7 !== q.weekday) return false;
  if (q.hour !== null && at.getUTCHours() !== q.hour) return false;
  if (q.finding !== null && !findingsNow().some((f) => f.key === q.finding && f.events.some((e) => e.seq === r.seq))) return false;
  if (q.max_seq !== null && r.seq > q.max_seq) return false;
  const a = notes.get(r.seq);
  if (q.starred_only && !a?.starred) return false;
  if (q.tags.length > 0 && !q.tags.some((t) => a?.tags.includes(t))) return false;
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
      0 &&
    !q.time_from &&
    !q.time_to &&
    !q.text &&
    !q.asset_name &&
    !q.starred_only &&
    q.tags.length === 0 &&
    q.weekday === null &&
    q.hour === null &&
    q.finding === null
  );
}

function matching(q: TimelineQuery): ChangeRow[] {
  const out: ChangeRow[] = [];
  for (let i = events.length - 1; i >= 0; i--) if (matches(events[i]!.row, q)) out.push(annotated(events[i]!.row));
  // newest first by event time, then arrival (imported events may be older)
  return out.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : b.seq - a.seq));
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
    tag: tagCounts(),
    starred: [...notes.values()].filter((a) => a.starred).length,
  };
}

/** The analyst's tags over the whole session, like Rust. */
function tagCounts(): FacetCount[] {
  const counts = new Map<string, number>();
  for (const a of notes.values()) for (const t of a.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].map(([value, count]) => ({ value, label: value, count })).sort((a, b) => b.count - a.count);
}

// --- sessions and live status ------------------------------------------------------------------
const OFFLINE_SESSION: SessionInfo = {
  path: '/home/analyst/.local/share/tideline/INC-2291-prod-db-20240505T140000Z.tideline',
  name: 'prod DB exposed to an outside address',
  incident: 'INC-2291',
  mode: 'offline',
  endpoint: 'https://streaming.opshelm.com/v1/consume/stream',
  key_storage: null,
  key_note: null,
  can_resume: true,
};
const DEMO_SESSION: SessionInfo = {
  path: '/home/analyst/.local/share/tideline/demo-20240505T140000Z.tideline',
  name: "Demo: the announcement's attack",
  incident: null,
  mode: 'demo',
  endpoint: 'http://127.0.0.1:41234/v1/consume/stream',
  key_storage: null,
  key_note: null,
  can_resume: false,
};
const LIVE_SESSION: SessionInfo = {
  ...OFFLINE_SESSION,
  mode: 'live',
  key_storage: 'memory',
  key_note: 'No OS keyring is available (Secret Service not running): the API key is kept in memory for this run only.',
  can_resume: false,
};

const mode = params.get('session');
let session: SessionInfo | null =
  mode === 'demo' ? DEMO_SESSION : mode === 'offline' ? OFFLINE_SESSION : mode === 'live' ? LIVE_SESSION : null;
const listeners: Array<Channel<LiveStatus>> = [];
let menu: Channel<MenuAction> | null = null;
let quarantinedCount = 2;

const CONN = params.get('conn');
function connection(): LiveStatus['connection'] {
  if (!session || session.mode === 'offline') return { state: 'offline' };
  if (CONN === 'stopped') return { state: 'stopped', reason: 'the EventStream rejected the API key (HTTP 401)' };
  if (CONN === 'reconnecting') {
    return { state: 'reconnecting', attempt: 3, next_try_at: new Date(Date.now() + 7000).toISOString(), reason: 'HTTP 503 from the EventStream' };
  }
  return { state: 'live' };
}

function status(): LiveStatus {
  if (!session) {
    return {
      session: null,
      connection: { state: 'offline' },
      received: 0,
      stored: 0,
      duplicates: 0,
      quarantined: 0,
      newest_event_time: null,
      newest_seq: null,
      findings: 0,
      findings_version: 0,
    };
  }
  const newestTime = events.reduce<string | null>((m, e) => (m === null || e.row.time > m ? e.row.time : m), null);
  const offline = session.mode === 'offline';
  return {
    session,
    connection: connection(),
    received: offline ? 0 : events.length + BULK + 7,
    stored: events.length + BULK,
    duplicates: 7,
    quarantined: quarantinedCount,
    newest_event_time: newestTime,
    newest_seq: events.length > 0 ? Math.max(...events.map((e) => e.row.seq)) : null,
    findings: findingsNow().length,
    findings_version: findingsVersion,
  };
}

function push() {
  const s = status();
  for (const ch of listeners) ch.onmessage(s);
}

function switchTo(next: SessionInfo | null) {
  session = next;
  setTimeout(push, 20);
}

if (RATE > 0) {
  setInterval(() => {
    if (!session || session.mode === 'offline') return;
    addBackground(Date.now() - 1500);
    maybeFlag(events[events.length - 1]!.row);
    push();
  }, RATE);
}

/** A native File-menu choice, for trying the menu in a browser. */
(window as unknown as { tidelineMenu: (a: MenuAction) => void }).tidelineMenu = (a) => menu?.onmessage(a);

// --- long tasks -----------------------------------------------------------------------------------
let cancelFlag = false;

async function runTask(
  task: 'export' | 'import',
  unit: 'events' | 'bytes',
  total: number,
  ch: Channel<TaskProgress>,
  done: () => TaskOutcome,
): Promise<TaskOutcome> {
  cancelFlag = false;
  await sleep(300); // the native file dialog
  const steps = 25;
  for (let i = 0; i <= steps; i++) {
    if (cancelFlag) {
      throw task === 'export'
        ? { kind: 'cancelled', message: 'the export was cancelled' }
        : { kind: 'cancelled', message: `the import was cancelled after ${Math.round((i / steps) * 40)} frames (those are kept)` };
    }
    ch.onmessage({ task, unit, done: Math.round((total * i) / steps), total });
    await sleep(TASK_MS / steps);
  }
  return done();
}

function verification(): Verification {
  const n = events.length;
  const third = events[2]?.row;
  if (BROKEN && third) {
    return {
      verified: 2,
      broken: { seq: third.seq, source: `/cloudAccounts/${ACCOUNT}`, event_id: '01HX3Q7Z9V4K2M8N6P0R5T1W3Y', reason: 'the stored bytes do not match their link' },
      head: 'c0ffee' + '0'.repeat(58),
      last_seq: 2,
    };
  }
  const last = events.length > 0 ? Math.max(...events.map((e) => e.row.seq)) : null;
  return { verified: n, broken: null, last_seq: last, head: n === 0 ? '' : (0x9f3a1c7e + n).toString(16).padStart(8, '0') + 'b4d1e6a29c0f7358d2e4b6a8c1f3e5d7a9b0c2e4f6a8b1d3e5f7a9c2e4b6d8' };
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
      switchTo(DEMO_SESSION);
      return session;
    case 'connect_stream': {
      if (a.apiKey === 'bad') throw { kind: 'api_key_rejected', message: 'The EventStream refused the API key (HTTP 401).' };
      const name = (a.name as string | null) ?? null;
      switchTo({
        ...LIVE_SESSION,
        path: `/home/analyst/.local/share/tideline/${(name ?? 'stream').replace(/[^A-Za-z0-9.-]/g, '_')}-20240505T150000Z.tideline`,
        name,
        incident: (a.incident as string | null) ?? null,
        endpoint: String(a.endpoint),
      });
      return session;
    }
    case 'open_session': {
      const path = a.path as string | null;
      if (path === null) return null; // the native dialog, cancelled
      if (path.endsWith('.txt')) throw { kind: 'store', message: `${path} is not a Tideline session (not an SQLite file)` };
      switchTo({ ...OFFLINE_SESSION, path, name: null, incident: null, can_resume: false });
      return session;
    }
    case 'close_session':
      switchTo(null);
      return null;
    case 'resume_recording':
      if (!session) throw { kind: 'no_session', message: 'no session is open' };
      if (!KEYRING && !a.apiKey) {
        throw { kind: 'api_key_needed', message: 'the API key for this endpoint is not in the OS keyring: enter it to resume' };
      }
      switchTo({ ...session, mode: 'live', can_resume: false, key_storage: a.apiKey ? 'memory' : 'keyring' });
      return session;
    case 'save_copy':
      return session ? session.path.replace(/\.tideline$/, '-copy.tideline') : null;
    case 'verify_session':
      await sleep(400);
      return verification();
    case 'watch_menu':
      menu = a.onAction as Channel<MenuAction>;
      return null;
    case 'export_session': {
      const query = a.query as TimelineQuery | null;
      const total = query ? matching(query).length : events.length;
      const ext = a.kind === 'ndjson' ? 'ndjson' : a.kind === 'timesketch' ? 'timesketch.csv' : a.kind === 'findings' ? 'findings.csv' : 'csv';
      const path = `/home/analyst/exports/INC-2291.${ext}`;
      if (a.kind === 'findings') {
        const n = findingsNow().length;
        return runTask('export', 'events', n, a.onProgress as Channel<TaskProgress>, () => ({ path, summary: `Exported ${n} findings to ${path}` }));
      }
      return runTask('export', 'events', total, a.onProgress as Channel<TaskProgress>, () => ({ path, summary: `Exported ${total} events to ${path}` }));
    }
    case 'import_capture': {
      const path = '/home/analyst/captures/cloudtrail-backfill.ndjson';
      return runTask('import', 'bytes', 3_400_000, a.onProgress as Channel<TaskProgress>, () => {
        // Late events: older times, newer arrival numbers.
        for (let i = 0; i < 12; i++) addBackground(t0 + 10 * 60_000 + i * 7_000);
        push();
        return { path, summary: 'Imported 40 frames: 12 new events, 27 already in the session, 1 quarantined' };
      });
    }
    case 'cancel_task':
      cancelFlag = true;
      return null;
    case 'set_starred':
      return annotate(a.seq as number, (n) => ({ ...n, starred: a.starred as boolean }));
    case 'add_tag': {
      const tag = String(a.tag).trim();
      if (tag === '' || tag.length > 100) throw { kind: 'store', message: 'a tag is 1 to 100 bytes of text without control characters' };
      return annotate(a.seq as number, (n) => ({ ...n, tags: n.tags.includes(tag) ? n.tags : [...n.tags, tag].sort() }));
    }
    case 'remove_tag':
      return annotate(a.seq as number, (n) => ({ ...n, tags: n.tags.filter((t) => t !== a.tag) }));
    case 'add_comment': {
      const body = String(a.body).trim();
      if (body === '') throw { kind: 'store', message: 'a comment is 1 to 10000 bytes of text' };
      return annotate(a.seq as number, (n) => ({
        ...n,
        comments: [...n.comments, { id: ++commentId, body, created_at: new Date().toISOString() }],
      }));
    }
    case 'delete_comment':
      return annotate(a.seq as number, (n) => ({ ...n, comments: n.comments.filter((c) => c.id !== a.commentId) }));
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
          return { row: r, who: who(r), changes: [], unified: null, side_by_side: [], config: null, diff_note: 'previous configuration unknown', associations: [], raw_text: null, tags: [], annotations: annotationsOf(s) };
        }
        throw { kind: 'no_such_change', message: `there is no change #${s} in this session` };
      }
      return { row: annotated(e.row), ...e.detail, annotations: annotationsOf(s) } satisfies ChangeDetail;
    }
    case 'asset_history':
      return events.filter((e) => e.row.asset_name === a.assetName).map((e) => ({ row: annotated(e.row) }));
    case 'quarantined':
      return QUARANTINE.slice(0, quarantinedCount);
    case 'findings':
      if (!session) throw { kind: 'no_session', message: 'no session is open' };
      return findingsNow();
    case 'rule_statuses':
      return ruleStatuses();
    case 'detection_settings':
      return structuredClone(settings);
    case 'save_detection_settings': {
      const next = a.settings as DetectionSettings;
      if (typeof next?.learning_period_hours !== 'number') {
        throw { kind: 'ipc', message: 'invalid args `settings` for command `save_detection_settings`: invalid type: string, expected f64' };
      }
      if (SAVE_ERROR) {
        throw { kind: 'task', message: 'cannot save /home/analyst/.config/tideline/detections.json: Permission denied (os error 13)' };
      }
      settings = structuredClone(next);
      // Rust rebuilds the findings in the background, then publishes the new version.
      setTimeout(() => {
        findingsVersion++;
        push();
      }, 400);
      return null;
    }
    case 'insights':
      return insights(a.query as TimelineQuery);
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
