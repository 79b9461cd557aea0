//! timeline_page: the incident view's reads on a session of 1,000,000 events.
//!
//! The session is built through the real write path: generated contract-shaped JSON (CloudEvents
//! envelope, `data.asset`, `data.attribution`, `config` / `previous_config` chained per asset, a
//! CloudTrail-like `raw`), decoded by [`wire::decode_frame`] and stored by
//! [`Session::write_batch`] in batches of 2,000. It is kept at `--session` and reused when it
//! already holds `--events` events (it takes a while to build); `scripts/bench` deletes it.
//!
//! Each case is timed warm (one connection, after one untimed call) and cold (a fresh
//! [`Session::open`] before every call, so SQLite's page cache is empty; the operating system's
//! file cache is NOT dropped). Each case runs at least `--min-runs` times and until its
//! `--budget` seconds are spent or `--max-runs` is reached; median and p95 (nearest rank) are
//! printed. `--os-cold` also times the first page with the session file evicted from the
//! operating system's page cache (`dd iflag=nocache`, this file only). `--what-if` times the
//! same SQL against schema changes made in a transaction that is rolled back.
//!
//! ```text
//! CARGO_TARGET_DIR=target/bench cargo bench -p tideline-engine --bench timeline_page -- \
//!     [--session /tmp/tideline-bench/timeline-1m.tideline] [--events 1000000] \
//!     [--min-runs 3] [--max-runs 15] [--budget 10] [--what-if] [--os-cold]
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};
use tideline_engine::model::{ChangeKind, PositionedFrame};
use tideline_engine::store::{SCHEMA_VERSION, Session};
use tideline_engine::timeline::{self, TimelineQuery};
use tideline_engine::wire;

const BATCH: usize = 2_000;
const PAGE: u64 = 200;

// ---------------------------------------------------------------------------------------------
// The generated stream.

/// splitmix64: small, fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const ACCOUNTS: [(&str, &str); 5] = [
    ("123456789012", "/cloudAccounts/01HQ7M2W4K9D8E5R3T1Y6U0P2A"),
    ("345678901234", "/cloudAccounts/01HQ9B3X5N7R2T4V6W8Y0Z1C3D"),
    ("456789012345", "/cloudAccounts/01HQAC4Y6P8S3V5X7Z9B1D3F5G"),
    ("567890123456", "/cloudAccounts/01HQBD5Z7Q9T4W6Y8A0C2E4G6H"),
    ("678901234567", "/cloudAccounts/01HQCE6A8R0V5X7Z9B1D3F5H7J"),
];
const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
];
/// (normalized type, provider type, service, id prefix, create / update / delete API call)
const TYPES: [(&str, &str, &str, &str, [&str; 3]); 12] = [
    (
        "network.firewall",
        "AWS::EC2::SecurityGroup",
        "ec2",
        "sg-",
        [
            "CreateSecurityGroup",
            "AuthorizeSecurityGroupIngress",
            "DeleteSecurityGroup",
        ],
    ),
    (
        "storage.bucket",
        "AWS::S3::Bucket",
        "s3",
        "",
        ["CreateBucket", "PutBucketPolicy", "DeleteBucket"],
    ),
    (
        "compute.instance",
        "AWS::EC2::Instance",
        "ec2",
        "i-",
        [
            "RunInstances",
            "ModifyInstanceAttribute",
            "TerminateInstances",
        ],
    ),
    (
        "serverless.function",
        "AWS::Lambda::Function",
        "lambda",
        "fn-",
        [
            "CreateFunction20150331",
            "UpdateFunctionConfiguration20150331v2",
            "DeleteFunction20150331",
        ],
    ),
    (
        "iam.role",
        "AWS::IAM::Role",
        "iam",
        "role-",
        ["CreateRole", "PutRolePolicy", "DeleteRole"],
    ),
    (
        "database.instance",
        "AWS::RDS::DBInstance",
        "rds",
        "db-",
        ["CreateDBInstance", "ModifyDBInstance", "DeleteDBInstance"],
    ),
    (
        "network.vpc",
        "AWS::EC2::VPC",
        "ec2",
        "vpc-",
        ["CreateVpc", "ModifyVpcAttribute", "DeleteVpc"],
    ),
    (
        "network.load_balancer",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "elasticloadbalancing",
        "lb-",
        [
            "CreateLoadBalancer",
            "ModifyLoadBalancerAttributes",
            "DeleteLoadBalancer",
        ],
    ),
    (
        "storage.snapshot",
        "AWS::EC2::Snapshot",
        "ec2",
        "snap-",
        [
            "CreateSnapshot",
            "ModifySnapshotAttribute",
            "DeleteSnapshot",
        ],
    ),
    (
        "kms.key",
        "AWS::KMS::Key",
        "kms",
        "key-",
        ["CreateKey", "PutKeyPolicy", "ScheduleKeyDeletion"],
    ),
    (
        "dns.record",
        "AWS::Route53::RecordSet",
        "route53",
        "rr-",
        [
            "ChangeResourceRecordSets",
            "ChangeResourceRecordSets",
            "ChangeResourceRecordSets",
        ],
    ),
    (
        "container.cluster",
        "AWS::EKS::Cluster",
        "eks",
        "eks-",
        ["CreateCluster", "UpdateClusterConfig", "DeleteCluster"],
    ),
];
const TEAMS: [&str; 8] = [
    "payments", "checkout", "search", "ledger", "auth", "data", "web", "batch",
];
const USERS: [&str; 12] = [
    "jdoe", "asmith", "mgarcia", "lchen", "okafor", "pnovak", "rkumar", "sliu", "tbrown", "ukim",
    "vrossi", "wnguyen",
];
const ROLES: [(&str, &str); 6] = [
    ("TerraformDeploy", "terraform"),
    ("ci-deployer", "sdk"),
    ("AdminSSO", "console"),
    ("platform-ops", "cli"),
    ("data-pipeline", "sdk"),
    ("BreakGlass", "console"),
];
const SERVICES: [&str; 3] = [
    "autoscaling.amazonaws.com",
    "lambda.amazonaws.com",
    "backup.amazonaws.com",
];

/// Assets in the session; the first [`HOT`] take [`HOT_PERCENT`]% of the changes.
const ASSETS: u64 = 3_000;
const HOT: u64 = 25;
const HOT_PERCENT: u64 = 10;
/// Non-asset `com.opshelm.*` events (no change, no asset).
const OTHER_PERCENT: u64 = 2;

struct AssetState {
    alive: bool,
    revision: u64,
}

struct Generator {
    rng: Rng,
    count: u64,
    start: DateTime<Utc>,
    assets: Vec<AssetState>,
}

fn asset_type(
    k: u64,
) -> &'static (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    [&'static str; 3],
) {
    // Skewed: security groups, buckets and instances are the most common.
    const WEIGHTS: [u64; 12] = [20, 14, 14, 10, 8, 6, 4, 6, 6, 4, 4, 4];
    let total: u64 = WEIGHTS.iter().sum();
    let mut x = (k.wrapping_mul(2_654_435_761)) % total;
    for (i, w) in WEIGHTS.iter().enumerate() {
        if x < *w {
            return &TYPES[i];
        }
        x -= w;
    }
    &TYPES[0]
}

fn display_name(k: u64) -> String {
    let kind = asset_type(k).0;
    let team = TEAMS[(k % 8) as usize];
    format!("{team}-{}-{k}", kind.rsplit('.').next().unwrap_or(kind))
}

fn config(k: u64, revision: u64) -> Value {
    let (kind, _, _, prefix, _) = *asset_type(k);
    let team = TEAMS[(k % 8) as usize];
    let size = ["small", "medium", "large", "xlarge"][(revision % 4) as usize];
    let env = if k.is_multiple_of(3) {
        "staging"
    } else {
        "prod"
    };
    let owner = USERS[(k % 12) as usize];
    let rules: Vec<Value> = (0..(1 + revision % 3))
        .map(|r| {
            json!({
                "Protocol": "tcp",
                "Port": 443 + r * 1000 + (revision % 7),
                "Cidr": format!("10.{}.{}.0/24", k % 250, (revision + r) % 250),
            })
        })
        .collect();
    json!({
        "Id": format!("{prefix}{k:017x}"),
        "Name": format!("{team}-{}-{k}", kind.replace('.', "-")),
        "Revision": revision,
        "Enabled": !revision.is_multiple_of(5),
        "Size": size,
        "Rules": rules,
        "Tags": [
            {"Key": "team", "Value": team},
            {"Key": "env", "Value": env},
            {"Key": "owner", "Value": owner},
        ],
    })
}

impl Generator {
    fn new(count: u64) -> Generator {
        Generator {
            rng: Rng(0x71de_11e0),
            count,
            start: Utc
                .with_ymd_and_hms(2024, 4, 1, 0, 0, 0)
                .single()
                .expect("valid time"),
            assets: (0..ASSETS)
                .map(|_| AssetState {
                    alive: false,
                    revision: 0,
                })
                .collect(),
        }
    }

    /// Event `i`'s JSON; events arrive in time order give or take a minute, over 30 days.
    fn event(&mut self, i: u64) -> String {
        let span_ms = 30 * 24 * 3600 * 1000;
        let jitter = self.rng.below(120_000) as i64 - 60_000;
        let time = self.start
            + Duration::milliseconds((i as i128 * span_ms / self.count as i128) as i64 + jitter);
        let time_text = time.to_rfc3339_opts(SecondsFormat::Millis, true);
        let id = format!("01J{i:023}");
        if self.rng.chance(OTHER_PERCENT) {
            let (_, source) = ACCOUNTS[self.rng.below(5) as usize];
            return json!({
                "specversion": "1.0",
                "id": id,
                "source": source,
                "type": "com.opshelm.inventory.sync",
                "time": time_text,
                "datacontenttype": "application/json",
                "data": {"assets_seen": self.rng.below(5000), "duration_ms": self.rng.below(90_000)},
            })
            .to_string();
        }
        let k = if self.rng.chance(HOT_PERCENT) {
            self.rng.below(HOT)
        } else {
            self.rng.below(ASSETS)
        };
        let (kind, provider_type, service, prefix, calls) = *asset_type(k);
        let (account, source) = ACCOUNTS[(k % 5) as usize];
        let region = if kind.starts_with("iam.") || kind == "dns.record" {
            "global"
        } else {
            REGIONS[((k / 5) % 6) as usize]
        };
        let provider_id = format!("{prefix}{k:017x}");
        let name = format!(
            "ohn:aws:{account}:{region}:{}:{provider_id}",
            kind.replace('.', "-")
        );
        let team = TEAMS[(k % 8) as usize];
        let display = display_name(k);

        let state = &mut self.assets[k as usize];
        let change = if !state.alive {
            ChangeKind::Create
        } else if self.rng.chance(5) {
            ChangeKind::Delete
        } else {
            ChangeKind::Update
        };
        let previous = (change != ChangeKind::Create).then(|| config(k, state.revision));
        if change != ChangeKind::Delete {
            state.revision += 1;
        }
        state.alive = change != ChangeKind::Delete;
        let current = (change != ChangeKind::Delete).then(|| config(k, state.revision));
        let call = calls[match change {
            ChangeKind::Create => 0,
            ChangeKind::Update => 1,
            ChangeKind::Delete => 2,
        }];

        // Who: people from the console or CLI, roles through automation, the provider itself.
        let who = self.rng.below(100);
        let (principal, principal_id, assumed_role, method, agent, identity_type) = if who < 45 {
            let user = *self.rng.pick(&USERS);
            let console = self.rng.chance(60);
            (
                format!("arn:aws:iam::{account}:user/{user}"),
                format!("AIDA{:016X}", self.rng.below(1 << 40)),
                None,
                if console { "console" } else { "cli" },
                if console {
                    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
                } else {
                    "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5 md/arch#x86_64 lang/python#3.11.8 command/ec2"
                },
                "IAMUser",
            )
        } else if who < 92 {
            let (role, method) = *self.rng.pick(&ROLES);
            let session = *self.rng.pick(&USERS);
            (
                format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
                format!("AROA{:016X}:{session}", self.rng.below(1 << 40)),
                Some(format!("arn:aws:iam::{account}:role/{role}")),
                method,
                match method {
                    "terraform" => {
                        "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0"
                    }
                    "sdk" => {
                        "Boto3/1.34.70 md/Botocore#1.34.70 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.2"
                    }
                    "console" => {
                        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
                    }
                    _ => {
                        "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/macos#23.4 md/arch#arm64 lang/python#3.11.8"
                    }
                },
                "AssumedRole",
            )
        } else {
            let service = *self.rng.pick(&SERVICES);
            (
                service.to_owned(),
                service.to_owned(),
                None,
                "provider",
                service,
                "AWSService",
            )
        };
        let source_ip = if identity_type == "AWSService" {
            service.to_owned() + ".amazonaws.com"
        } else {
            format!(
                "{}.{}.{}.{}",
                [198, 203, 10, 172][(who % 4) as usize],
                self.rng.below(256),
                self.rng.below(256),
                1 + self.rng.below(254)
            )
        };
        let associations: Vec<Value> = (0..self.rng.below(3))
            .map(|_| {
                let other = self.rng.below(ASSETS);
                let (okind, _, _, oprefix, _) = *asset_type(other);
                let (oaccount, _) = ACCOUNTS[(other % 5) as usize];
                let oregion = REGIONS[((other / 5) % 6) as usize];
                let relation = ["member_of", "protects", "uses"][(other % 3) as usize];
                json!({
                    "name": format!("ohn:aws:{oaccount}:{oregion}:{}:{oprefix}{other:017x}", okind.replace('.', "-")),
                    "type": okind,
                    "relation": relation,
                })
            })
            .collect();
        let request_id = format!(
            "{:032x}",
            (self.rng.next() as u128) << 64 | self.rng.next() as u128
        );
        let event_id = format!(
            "{:032x}",
            (self.rng.next() as u128) << 64 | self.rng.next() as u128
        );
        json!({
            "specversion": "1.0",
            "id": id,
            "source": source,
            "type": format!("com.opshelm.asset.{}", change.as_str()),
            "time": time_text,
            "subject": name,
            "datacontenttype": "application/json",
            "data": {
                "asset": {
                    "name": name,
                    "provider": "aws",
                    "account": account,
                    "region": region,
                    "type": kind,
                    "provider_type": provider_type,
                    "provider_name": format!("arn:aws:{service}:{region}:{account}:{provider_id}"),
                    "provider_id": provider_id,
                    "display_name": display,
                    "tags": {"Name": display, "team": team},
                },
                "attribution": {
                    "principal": principal,
                    "principal_id": principal_id,
                    "assumed_id": null,
                    "assumed_role": assumed_role,
                    "source_ip": source_ip,
                    "user_agent": agent,
                    "method": method,
                    "action": call,
                },
                "associations": associations,
                "config": current,
                "previous_config": previous,
                "raw": {
                    "eventVersion": "1.09",
                    "userIdentity": {"type": identity_type, "principalId": principal_id, "arn": principal, "accountId": account},
                    "eventTime": time.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "eventSource": format!("{service}.amazonaws.com"),
                    "eventName": call,
                    "awsRegion": region,
                    "sourceIPAddress": source_ip,
                    "userAgent": agent,
                    "requestParameters": {"resourceId": provider_id},
                    "responseElements": {"_return": true},
                    "requestID": request_id,
                    "eventID": event_id,
                    "readOnly": false,
                    "eventType": "AwsApiCall",
                    "managementEvent": true,
                    "recipientAccountId": account,
                },
            },
        })
        .to_string()
    }
}

fn build(path: &Path, count: u64) {
    remove_session(path);
    let started = Instant::now();
    let mut session = Session::open_or_create(path).expect("create session");
    // As the recorder's writer does (SessionWriter::spawn).
    session
        .tune_for_bulk_writes()
        .expect("tune_for_bulk_writes");
    let mut generator = Generator::new(count);
    let mut generate_s = 0.0;
    let mut decode_s = 0.0;
    let mut write_s = 0.0;
    let mut body_bytes = 0usize;
    let mut i = 0;
    while i < count {
        let n = BATCH.min((count - i) as usize);
        let t = Instant::now();
        let bodies: Vec<String> = (i..i + n as u64).map(|j| generator.event(j)).collect();
        generate_s += t.elapsed().as_secs_f64();
        body_bytes += bodies.iter().map(String::len).sum::<usize>();
        let t = Instant::now();
        let frames: Vec<PositionedFrame> = bodies
            .into_iter()
            .enumerate()
            .map(|(j, body)| PositionedFrame {
                frame: wire::decode_frame(body),
                sse_id: Some(format!("01J{:023}", i + j as u64)),
                received_at: Utc::now(),
            })
            .collect();
        decode_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let outcome = session.write_batch(&frames).expect("write_batch");
        write_s += t.elapsed().as_secs_f64();
        assert_eq!(
            outcome.stored as usize, n,
            "every generated event is stored"
        );
        i += n as u64;
        if i % 100_000 == 0 {
            eprintln!(
                "  built {i} events in {:.0} s (write_batch {:.0} events/s so far)",
                started.elapsed().as_secs_f64(),
                i as f64 / write_s
            );
        }
    }
    let t = Instant::now();
    let indexed = session
        .index_for_search(u64::MAX)
        .expect("index for search");
    println!(
        "indexed {indexed} events for search in {:.1} s ({:.0} events/s)",
        t.elapsed().as_secs_f64(),
        indexed as f64 / t.elapsed().as_secs_f64()
    );
    drop(session);
    println!(
        "built {count} events in {:.1} s: generate {generate_s:.1} s, decode_frame {decode_s:.1} s, \
         write_batch {write_s:.1} s ({:.0} events/s with the table growing to {count}); \
         mean body {:.0} B; file {:.2} GB",
        started.elapsed().as_secs_f64(),
        count as f64 / write_s,
        body_bytes as f64 / count as f64,
        file_size(path) as f64 / 1e9
    );
}

fn remove_session(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Timing.

struct Args {
    session: PathBuf,
    events: u64,
    min_runs: usize,
    max_runs: usize,
    budget: f64,
    what_if: bool,
    os_cold: bool,
}

fn parse_args() -> Args {
    let mut parsed = Args {
        session: std::env::temp_dir().join("tideline-bench/timeline-1m.tideline"),
        events: 1_000_000,
        min_runs: 3,
        max_runs: 15,
        budget: 10.0,
        what_if: false,
        os_cold: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--session" => parsed.session = PathBuf::from(value()),
            "--events" => parsed.events = value().parse().expect("--events N"),
            "--min-runs" => parsed.min_runs = value().parse().expect("--min-runs N"),
            "--max-runs" => parsed.max_runs = value().parse().expect("--max-runs N"),
            "--budget" => parsed.budget = value().parse().expect("--budget SECS"),
            "--what-if" => parsed.what_if = true,
            "--os-cold" => parsed.os_cold = true,
            "--bench" => {}
            other => panic!("unknown argument {other:?}"),
        }
    }
    parsed.min_runs = parsed.min_runs.max(1);
    parsed.max_runs = parsed.max_runs.max(parsed.min_runs);
    parsed
}

struct Stats {
    runs: usize,
    median_ms: f64,
    p95_ms: f64,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let p95 = ((0.95 * n as f64).ceil() as usize).clamp(1, n) - 1;
    Stats {
        runs: n,
        median_ms: if n % 2 == 1 {
            ms[n / 2]
        } else {
            (ms[n / 2 - 1] + ms[n / 2]) / 2.0
        },
        p95_ms: ms[p95],
    }
}

/// Runs `op` until the budget or run limits say stop; returns milliseconds per run.
fn repeat(args: &Args, mut op: impl FnMut() -> f64) -> Vec<f64> {
    let started = Instant::now();
    let mut ms = Vec::new();
    while ms.len() < args.max_runs
        && (ms.len() < args.min_runs || started.elapsed().as_secs_f64() < args.budget)
    {
        ms.push(op());
    }
    ms
}

type Op<'a> = Box<dyn Fn(&Session) -> usize + 'a>;

struct Case<'a> {
    name: String,
    op: Op<'a>,
    target_ms: Option<f64>,
}

fn time_case(args: &Args, case: &Case<'_>) -> (Stats, Stats, usize) {
    // Cold: a fresh connection (empty SQLite page cache) before every call.
    let mut size = 0;
    let cold = repeat(args, || {
        let session = Session::open(&args.session).expect("open");
        let t = Instant::now();
        size = std::hint::black_box((case.op)(&session));
        t.elapsed().as_secs_f64() * 1e3
    });
    // Warm: one connection, one untimed call first.
    let session = Session::open(&args.session).expect("open");
    (case.op)(&session);
    let warm = repeat(args, || {
        let t = Instant::now();
        std::hint::black_box((case.op)(&session));
        t.elapsed().as_secs_f64() * 1e3
    });
    (stats(cold), stats(warm), size)
}

fn main() {
    let args = parse_args();
    if let Some(dir) = args.session.parent() {
        std::fs::create_dir_all(dir).expect("create the session's directory");
    }
    // Reuse only a session this build's writer made (an older schema would be migrated on open,
    // which is not the file today's writer produces).
    let version: i64 = Connection::open_with_flags(&args.session, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|conn| conn.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .unwrap_or(-1);
    let reuse = args.session.exists()
        && version == SCHEMA_VERSION
        && Session::open(&args.session)
            .and_then(|s| s.summary())
            .map(|s| s.events == args.events)
            .unwrap_or(false);
    if reuse {
        println!(
            "reusing {} ({} events, {:.2} GB)",
            args.session.display(),
            args.events,
            file_size(&args.session) as f64 / 1e9
        );
    } else {
        eprintln!(
            "building {} with {} events (once; reused until deleted)",
            args.session.display(),
            args.events
        );
        build(&args.session, args.events);
    }

    // Facts about the session the cases need (read-only, outside any timing).
    let plain = Connection::open_with_flags(&args.session, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open read-only");
    let (busiest, busiest_events): (String, i64) = plain
        .query_row(
            "SELECT name, event_count FROM assets ORDER BY event_count DESC, name LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("busiest asset");
    let update_seq: i64 = plain
        .query_row(
            "SELECT max(seq) FROM events WHERE change = 'update'",
            [],
            |r| r.get(0),
        )
        .expect("an update");
    let summary = Session::open(&args.session)
        .and_then(|s| s.summary())
        .expect("summary");
    println!(
        "session: {} events ({} asset changes: {} create, {} update, {} delete), {} to {}; \
         busiest asset {busiest} with {busiest_events} events; {:.2} GB",
        summary.events,
        summary.asset_events,
        summary.by_change.create,
        summary.by_change.update,
        summary.by_change.delete,
        summary.first_time.as_deref().unwrap_or("-"),
        summary.last_time.as_deref().unwrap_or("-"),
        file_size(&args.session) as f64 / 1e9
    );

    let default = TimelineQuery::default();
    let filtered = TimelineQuery {
        asset_types: vec!["network.firewall".into()],
        regions: vec!["us-east-1".into()],
        ..TimelineQuery::default()
    };
    let filtered_rare = TimelineQuery {
        changes: vec![ChangeKind::Delete],
        principals: vec!["arn:aws:iam::123456789012:user/jdoe".into()],
        ..TimelineQuery::default()
    };
    let text_common = TimelineQuery {
        text: Some("payments".into()),
        ..TimelineQuery::default()
    };
    let text_rare = TimelineQuery {
        text: Some(display_name(1003)),
        ..TimelineQuery::default()
    };
    let pivot = TimelineQuery {
        asset_name: Some(busiest.clone()),
        ..TimelineQuery::default()
    };
    let list = |query: &TimelineQuery, offset: u64| -> Op<'static> {
        let query = query.clone();
        Box::new(move |s: &Session| {
            timeline::list_changes(s, &query, timeline::PageStart::Offset(offset), PAGE)
                .expect("list_changes")
                .rows
                .len()
        })
    };
    let page_only = |query: &TimelineQuery, offset: u64| -> Op<'static> {
        let query = query.clone();
        Box::new(move |s: &Session| {
            s.page_changes(&query, timeline::PageStart::Offset(offset), PAGE)
                .expect("page")
                .len()
        })
    };
    let count_only = |query: &TimelineQuery| -> Op<'static> {
        let query = query.clone();
        Box::new(move |s: &Session| s.count_changes(&query).expect("count") as usize)
    };
    let case = |name: String, op: Op<'static>, target_ms: Option<f64>| Case {
        name,
        op,
        target_ms,
    };
    let target = Some(50.0);
    let history_name = busiest.clone();
    let cases: Vec<Case<'_>> = vec![
        case(
            "list_changes default, first page (200)".into(),
            list(&default, 0),
            target,
        ),
        case(
            "  page_changes alone (the 200 rows)".into(),
            page_only(&default, 0),
            None,
        ),
        case(
            "  count_changes alone (the total)".into(),
            count_only(&default),
            None,
        ),
        case(
            "list_changes pivot to busiest asset".into(),
            list(&pivot, 0),
            target,
        ),
        case(
            "list_changes type+region filter".into(),
            list(&filtered, 0),
            target,
        ),
        case("  page_changes alone".into(), page_only(&filtered, 0), None),
        case(
            "list_changes change=delete+principal filter".into(),
            list(&filtered_rare, 0),
            target,
        ),
        case(
            "  page_changes alone".into(),
            page_only(&filtered_rare, 0),
            None,
        ),
        case(
            "list_changes free text \"payments\"".into(),
            list(&text_common, 0),
            target,
        ),
        case(
            format!("list_changes free text {:?}", display_name(1003)),
            list(&text_rare, 0),
            target,
        ),
        case(
            "  page_changes alone".into(),
            page_only(&text_rare, 0),
            None,
        ),
        case(
            "list_changes default, offset 500,000".into(),
            list(&default, 500_000),
            None,
        ),
        case(
            "  page_changes alone".into(),
            page_only(&default, 500_000),
            None,
        ),
        case(
            "facets default (6 facets)".into(),
            Box::new(|s: &Session| {
                timeline::facets(s, &TimelineQuery::default())
                    .expect("facets")
                    .change
                    .len()
            }),
            None,
        ),
        case(
            "facets type+region filter".into(),
            {
                let query = filtered.clone();
                Box::new(move |s: &Session| {
                    timeline::facets(s, &query).expect("facets").change.len()
                })
            },
            None,
        ),
        case(
            format!("change_detail (update, seq {update_seq})"),
            Box::new(move |s: &Session| {
                timeline::change_detail(s, update_seq)
                    .expect("detail")
                    .expect("exists")
                    .changes
                    .len()
            }),
            None,
        ),
        case(
            format!("asset_history busiest ({busiest_events} events)"),
            Box::new(move |s: &Session| {
                timeline::asset_history(s, &history_name, None, PAGE)
                    .expect("history")
                    .len()
            }),
            None,
        ),
    ];
    println!();
    println!(
        "{:<46} {:>5} {:>11} {:>11} {:>5} {:>11} {:>11} {:>7}  target",
        "case", "rows", "cold med ms", "cold p95 ms", "runs", "warm med ms", "warm p95 ms", "runs"
    );
    // Opening the session is what every cold call above pays first (not included in them).
    let open = stats(repeat(&args, || {
        let t = Instant::now();
        let session = Session::open(&args.session).expect("open");
        let ms = t.elapsed().as_secs_f64() * 1e3;
        drop(session);
        ms
    }));
    println!(
        "{:<46} {:>5} {:>11.1} {:>11.1} {:>5} {:>11} {:>11} {:>7}",
        "Session::open (fresh connection)",
        "",
        open.median_ms,
        open.p95_ms,
        open.runs,
        "-",
        "-",
        ""
    );
    for case in &cases {
        let (cold, warm, size) = time_case(&args, case);
        let verdict = match case.target_ms {
            Some(target) if warm.median_ms <= target && cold.median_ms <= target => {
                format!("<= {target} ms: met")
            }
            Some(target) => format!(
                "<= {target} ms: MISSED (x{:.1} warm)",
                warm.median_ms / target
            ),
            None => String::new(),
        };
        println!(
            "{:<46} {:>5} {:>11.1} {:>11.1} {:>5} {:>11.1} {:>11.1} {:>7}  {verdict}",
            case.name,
            size,
            cold.median_ms,
            cold.p95_ms,
            cold.runs,
            warm.median_ms,
            warm.p95_ms,
            warm.runs
        );
    }

    if args.os_cold {
        os_cold(&args, &cases[..4]);
    }

    println!();
    println!("query plans (EXPLAIN QUERY PLAN of the SQL store/timeline.rs builds):");
    for sql in [
        "SELECT count(*) FROM events WHERE change IS NOT NULL",
        "SELECT seq FROM events WHERE change IS NOT NULL ORDER BY time_us DESC, seq DESC LIMIT 200 OFFSET 0",
        "SELECT method, count(*) AS n FROM events WHERE change IS NOT NULL AND method IS NOT NULL GROUP BY method ORDER BY n DESC, method LIMIT 50",
    ] {
        let mut statement = plain
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let plan: Vec<String> = statement
            .query_map([], |r| r.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("plan rows");
        println!("  {sql}\n    -> {}", plan.join("; "));
    }
    drop(plain);

    if args.what_if {
        what_if(&args);
    }
}

/// Evicts the session file from the operating system's page cache (its clean pages only; no
/// other file is touched): an fsync, then GNU dd's `iflag=nocache count=0`.
fn drop_file_cache(path: &Path) -> bool {
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.sync_all();
    }
    std::process::Command::new("dd")
        .arg(format!("if={}", path.display()))
        .args(["iflag=nocache", "count=0", "status=none"])
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

fn os_cold(args: &Args, cases: &[Case<'_>]) {
    println!();
    println!(
        "OS-cold: the session file dropped from the OS page cache before each call (fresh connection too):"
    );
    for case in cases {
        let mut ms = Vec::new();
        let mut open_ms = Vec::new();
        for _ in 0..args.min_runs {
            if !drop_file_cache(&args.session) {
                println!("  (dd iflag=nocache failed; skipping the OS-cold runs)");
                return;
            }
            let t = Instant::now();
            let session = Session::open(&args.session).expect("open");
            open_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            std::hint::black_box((case.op)(&session));
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (s, o) = (stats(ms), stats(open_ms));
        println!(
            "  {:<46} median {:>9.1} ms  p95 {:>9.1} ms  ({} runs), after Session::open median {:>8.1} ms",
            case.name, s.median_ms, s.p95_ms, s.runs, o.median_ms
        );
    }
}

// ---------------------------------------------------------------------------------------------
// What-ifs: the same SQL against schema changes made inside a transaction that is rolled back,
// so the session file is left as the engine wrote it.

fn time_sql(args: &Args, conn: &Connection, sql: &str) -> Stats {
    let run = || {
        let t = Instant::now();
        let mut statement = conn.prepare_cached(sql).expect("prepare");
        let mut rows = statement.query([]).expect("query");
        let mut n = 0;
        while rows.next().expect("row").is_some() {
            n += 1;
        }
        std::hint::black_box(n);
        t.elapsed().as_secs_f64() * 1e3
    };
    run();
    stats(repeat(args, run))
}

/// All six facet counts of the default query in one pass over `table`, counted in Rust.
fn facets_one_pass(args: &Args, conn: &Connection, table: &str) -> Stats {
    let sql = format!(
        "SELECT change, asset_type, method, principal, asset_region, asset_account FROM {table} \
         WHERE change IS NOT NULL"
    );
    let run = || {
        let t = Instant::now();
        let mut counts: Vec<std::collections::HashMap<String, u64>> = vec![Default::default(); 6];
        let mut statement = conn.prepare_cached(&sql).expect("prepare");
        let mut rows = statement.query([]).expect("query");
        while let Some(row) = rows.next().expect("row") {
            for (column, map) in counts.iter_mut().enumerate() {
                if let Ok(Some(value)) = row.get_ref(column).expect("column").as_str_or_null() {
                    match map.get_mut(value) {
                        Some(n) => *n += 1,
                        None => {
                            map.insert(value.to_owned(), 1);
                        }
                    }
                }
            }
        }
        std::hint::black_box(counts);
        t.elapsed().as_secs_f64() * 1e3
    };
    run();
    stats(repeat(args, run))
}

/// The name of a partial index of the change list, if the schema has one (migration 0005).
fn change_list_index(conn: &Connection) -> Option<String> {
    conn.query_row(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events' \
         AND sql LIKE '%WHERE change IS NOT NULL%' LIMIT 1",
        [],
        |r| r.get(0),
    )
    .ok()
}

fn what_if(args: &Args) {
    println!();
    println!("what-if (warm, one connection; schema changes rolled back afterwards):");
    let conn = Connection::open(&args.session).expect("open");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    let count = "SELECT count(*) FROM events WHERE change IS NOT NULL";
    let facet = "SELECT method, count(*) AS n FROM events WHERE change IS NOT NULL AND method IS NOT NULL GROUP BY method ORDER BY n DESC, method LIMIT 50";
    let filtered_count = "SELECT count(*) FROM events WHERE change IS NOT NULL AND asset_type IN ('network.firewall') AND asset_region IN ('us-east-1')";
    let report = |label: &str, sql: &str, s: Stats| {
        println!(
            "  {label:<58} median {:>8.1} ms  p95 {:>8.1} ms  ({} runs)   {sql}",
            s.median_ms, s.p95_ms, s.runs
        );
    };
    report("today: count", count, time_sql(args, &conn, count));
    report(
        "today: one facet (method)",
        facet,
        time_sql(args, &conn, facet),
    );
    report(
        "today: filtered count",
        filtered_count,
        time_sql(args, &conn, filtered_count),
    );
    let deep = "SELECT seq, body FROM events WHERE change IS NOT NULL ORDER BY time_us DESC, seq DESC LIMIT 200 OFFSET 500000";
    report(
        "today: page at offset 500,000",
        deep,
        time_sql(args, &conn, deep),
    );
    // The same facet and count with the planner kept off the indexes: a plain table scan.
    let facet_scan = facet.replace("FROM events", "FROM events NOT INDEXED");
    report(
        "today, table scan forced: one facet (method)",
        &facet_scan,
        time_sql(args, &conn, &facet_scan),
    );
    let filtered_scan = filtered_count.replace("FROM events", "FROM events NOT INDEXED");
    report(
        "today, table scan forced: filtered count",
        &filtered_scan,
        time_sql(args, &conn, &filtered_scan),
    );
    // What Session::open runs on every open (store/integrity.rs, fill_missing_links).
    let open_check = "SELECT EXISTS (SELECT 1 FROM events WHERE link IS NULL)";
    report(
        "today: the integrity check every Session::open runs",
        open_check,
        time_sql(args, &conn, open_check),
    );
    let capped = "SELECT count(*) FROM (SELECT 1 FROM events WHERE change IS NOT NULL ORDER BY time_us DESC, seq DESC LIMIT 10001)";
    report(
        "today: total capped at 10,000+",
        capped,
        time_sql(args, &conn, capped),
    );
    report(
        "today: all six facets in one pass",
        "(one SELECT of the six columns, counted in Rust)",
        facets_one_pass(args, &conn, "events"),
    );

    conn.execute_batch("BEGIN").expect("begin");
    let t = Instant::now();
    conn.execute_batch(
        "CREATE TABLE narrow AS SELECT seq, change, time_us, asset_name, asset_type, \
         asset_account, asset_region, principal, method FROM events;",
    )
    .expect("narrow copy");
    println!(
        "  (built a copy of the events table without body in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let narrow_count = count.replace("events", "narrow");
    let narrow_facet = facet.replace("events", "narrow");
    let narrow_filtered = filtered_count.replace("events", "narrow");
    report(
        "body moved out of the row: count",
        &narrow_count,
        time_sql(args, &conn, &narrow_count),
    );
    report(
        "body moved out of the row: one facet",
        &narrow_facet,
        time_sql(args, &conn, &narrow_facet),
    );
    report(
        "body moved out of the row: filtered count",
        &narrow_filtered,
        time_sql(args, &conn, &narrow_filtered),
    );
    report(
        "body moved out of the row: all six facets in one pass",
        "(one SELECT of the six columns, counted in Rust)",
        facets_one_pass(args, &conn, "narrow"),
    );

    if let Some(name) = change_list_index(&conn) {
        println!(
            "  (the schema already has the partial index {name} on (time_us, seq) WHERE change IS NOT \
             NULL: the \"today\" lines above use it)"
        );
        conn.execute_batch("ROLLBACK").expect("rollback");
        return;
    }
    let t = Instant::now();
    conn.execute_batch(
        "CREATE INDEX what_if_changes ON events (time_us, seq) WHERE change IS NOT NULL;",
    )
    .expect("partial index");
    println!(
        "  (built a partial index ON events (time_us, seq) WHERE change IS NOT NULL in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    report(
        "partial index on changes: count",
        count,
        time_sql(args, &conn, count),
    );
    report(
        "partial index on changes: page at offset 500,000",
        deep,
        time_sql(args, &conn, deep),
    );
    conn.execute_batch("ROLLBACK").expect("rollback");
}
