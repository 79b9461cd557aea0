//! The generated session of `timeline_page`: contract-shaped events (CloudEvents envelope,
//! `data.asset`, `data.attribution`, `config` / `previous_config` chained per asset, a
//! CloudTrail-like `raw`), decoded by [`wire::decode_frame`] and stored by
//! [`Session::write_batch`] in batches of [`BATCH`]: the real write path, minus the network.
//!
//! Any number of events spans the 30 days from 2024-04-01; 3,000 assets in 12 types, 5 accounts,
//! 6 regions plus `global`; the first 25 assets take 10 % of the changes; 2 % are other
//! `com.opshelm.*` events. Deterministic: the same count gives the same events.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};
use tideline_engine::model::{ChangeKind, PositionedFrame};
use tideline_engine::store::Session;
use tideline_engine::wire;

/// Events per `write_batch`: the most the recorder's writer takes at once, as it does while a
/// stream delivers faster than it writes (the throughput this build measures).
const BATCH: usize = tideline_engine::store::BATCH_MAX_FRAMES;
/// The early part of a build whose rate stands for a fresh file's.
pub const FIRST: u64 = 100_000;

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

/// Search terms the generated events are known to hold (the cases' free text):
/// a team in every eighth asset's name,
pub const COMMON_TEXT: &str = "payments";
/// a fragment of the principal ARN of one assumed role in six (about one event in thirteen),
pub const ARN_FRAGMENT: &str = "assumed-role/BreakGlass";
/// and a CIDR in the `Rules` of hot asset 17's configurations (`10.{k % 250}.{(revision + r) %
/// 250}.0/24`): a value its updates change, found only in the configurations.
pub const CHANGED_CIDR: &str = "10.17.42.0/24";
/// A principal with a few deletes (a console user of account 0).
pub const RARE_PRINCIPAL: &str = "arn:aws:iam::123456789012:user/jdoe";

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

/// What building the session measured.
pub struct Build {
    /// `write_batch` events per second over the first [`FIRST`] events (or all, if fewer).
    pub first_rate: f64,
    /// `write_batch` events per second over the whole build.
    pub overall_rate: f64,
    /// Events per second indexed for search and digested (`Session::index_idle`) after the
    /// build.
    pub index_rate: f64,
}

/// Indexes for search and digests whatever the session's search index and digests do not
/// cover yet, in transactions of 100,000 events (one transaction for millions would grow the
/// WAL by the whole index); returns how many events it indexed or digested.
pub fn finish_idle_indexes(session: &mut Session) -> u64 {
    let mut indexed = 0;
    loop {
        let added = session.index_idle(100_000).expect("index_idle");
        if added == 0 {
            return indexed;
        }
        indexed += added;
    }
}

/// Builds a session of `count` generated events at `path` (replacing any file there).
pub fn build(path: &Path, count: u64) -> Build {
    remove_session(path);
    let started = Instant::now();
    let mut session = Session::open_or_create(path).expect("create session");
    // As the recorder's writer does (SessionWriter::spawn), its checkpointer included.
    session
        .tune_for_bulk_writes()
        .expect("tune_for_bulk_writes");
    let checkpointer = session.start_checkpointer().expect("checkpointer");
    let mut generator = Generator::new(count);
    let mut generate_s = 0.0;
    let mut decode_s = 0.0;
    let mut write_s = 0.0;
    let mut first_rate = None;
    let mut body_bytes = 0usize;
    let (mut window_start, mut window_s, mut window_written) = (0, 0.0, bytes_written());
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
        if first_rate.is_none() && i >= FIRST {
            first_rate = Some(i as f64 / write_s);
        }
        if i - window_start >= WINDOW {
            // What slows a growing session down: the bytes the process wrote per event.
            let written = bytes_written();
            eprintln!(
                "  built {i} events in {:.0} s: write_batch {:.0} events/s so far, {:.0} over the \
                 last {}; {:.0} B written per event there",
                started.elapsed().as_secs_f64(),
                i as f64 / write_s,
                (i - window_start) as f64 / (write_s - window_s),
                i - window_start,
                (written - window_written) as f64 / (i - window_start) as f64,
            );
            (window_start, window_s, window_written) = (i, write_s, written);
        }
    }
    // The writer indexes for search and digests when idle and before it closes; here, after
    // the build.
    let t = Instant::now();
    let indexed = finish_idle_indexes(&mut session);
    let index_s = t.elapsed().as_secs_f64();
    println!(
        "indexed for search and digested {} events in {index_s:.1} s ({:.0} events/s)",
        indexed / 2,
        indexed as f64 / 2.0 / index_s
    );
    session
        .stop_checkpointer(checkpointer)
        .expect("checkpointer stop");
    drop(session);
    let overall_rate = count as f64 / write_s;
    println!(
        "built {count} events in {:.1} s: generate {generate_s:.1} s, decode_frame {decode_s:.1} s, \
         write_batch {write_s:.1} s ({overall_rate:.0} events/s with the table growing to {count}); \
         mean body {:.0} B; file {:.2} GB",
        started.elapsed().as_secs_f64(),
        body_bytes as f64 / count as f64,
        session_bytes(path) as f64 / 1e9
    );
    Build {
        first_rate: first_rate.unwrap_or(overall_rate),
        overall_rate,
        index_rate: indexed as f64 / 2.0 / index_s,
    }
}

/// Events between two progress lines of a build.
const WINDOW: u64 = 100_000;

/// Bytes this process has caused to be written to storage (`write_bytes` of `/proc/self/io`,
/// Linux's per-task I/O accounting); 0 where that is not available.
fn bytes_written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|line| line.strip_prefix("write_bytes:"))
                .and_then(|value| value.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The session's files: the database and its write-ahead log.
fn files(path: &Path) -> [PathBuf; 3] {
    ["", "-wal", "-shm"].map(|suffix| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    })
}

pub fn remove_session(path: &Path) {
    for file in files(path) {
        let _ = std::fs::remove_file(file);
    }
}

/// Bytes on disk: the database and its write-ahead log.
pub fn session_bytes(path: &Path) -> u64 {
    files(path)[..2]
        .iter()
        .map(|file| std::fs::metadata(file).map(|m| m.len()).unwrap_or(0))
        .sum()
}
