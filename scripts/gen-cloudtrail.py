#!/usr/bin/env python3
"""Generate a CloudTrail S3 delivery tree for the import benchmark (issue 11).

    python3 scripts/gen-cloudtrail.py --records 1000000 --out DIR [--seed 1] [--days 30]

Writes DIR/AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_<16>.json.gz
(gzip `{"Records": [...]}`, one file per 5-minute delivery window per region, records in no time
order, each delivered 5-15 minutes after its eventTime), one CloudTrail-Digest file per region per
hour (to be skipped by importers) and DIR/README.md. Python 3 standard library only; the same
arguments give the same bytes.

Every record is a REAL record from /work/shared/realdata/cloudtrail/ (stratus-red-team, otrf,
awsdocs, seed-story) used as a template: its structure is kept as is (userIdentity,
requestParameters, responseElements, resources, tlsDetails, ...) and only values are varied:
eventID/requestID and every other uuid, access keys, principal ids, user/role/session names,
instance/security-group/vpc/subnet/... ids, bucket names, times (every timestamp keeps its offset
from eventTime), source IPs, account and region. Memory stays bounded: records are produced one
5-minute window at a time and written as soon as their delivery window is complete.

The last line printed is a JSON summary (files, records, bytes compressed/uncompressed, ...).
"""
import argparse
import bisect
import calendar
import collections
import copy
import glob
import gzip
import hashlib
import io
import json
import math
import os
import random
import re
import sys
import time

REALDATA = "/work/shared/realdata/cloudtrail"
ACCOUNT = "210987654321"
TRAIL = "management-events"
BUCKET = "org-cloudtrail-logs-" + ACCOUNT
# (region, share of the regional traffic); global services (IAM, sign-in, Organizations,
# Route 53, CloudFront) are logged in us-east-1 whatever the caller's region.
REGIONS = [("us-east-1", 0.62), ("eu-west-1", 0.24), ("us-west-2", 0.14)]
GLOBAL_SOURCES = {"iam.amazonaws.com", "signin.amazonaws.com", "organizations.amazonaws.com",
                  "route53.amazonaws.com", "cloudfront.amazonaws.com", "sts-global"}
WINDOW = 300  # seconds

# The mix of a real management-events trail.
MIX = [("read", 0.70), ("write", 0.22), ("error", 0.05), ("auth", 0.03)]
AUTH_NAMES = {"ConsoleLogin", "AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML",
              "GetFederationToken", "GetSessionToken", "CheckMfa"}
READ_PREFIXES = ("Describe", "List", "Get", "Lookup", "Head", "BatchGet", "Search", "Check")
# Write families the brief names get a heavier weight than the long tail of write calls.
WRITE_BOOST = {
    "AuthorizeSecurityGroupIngress": 6, "AuthorizeSecurityGroupEgress": 3,
    "RevokeSecurityGroupIngress": 5, "RevokeSecurityGroupEgress": 3, "CreateSecurityGroup": 2,
    "RunInstances": 8, "TerminateInstances": 7, "StartInstances": 3, "StopInstances": 3,
    "CreateTags": 10, "ModifyInstanceAttribute": 2,
    "CreateUser": 3, "DeleteUser": 2, "CreateRole": 3, "AttachRolePolicy": 3,
    "AttachUserPolicy": 3, "DetachUserPolicy": 2, "CreateAccessKey": 3, "DeleteAccessKey": 2,
    "UpdateAssumeRolePolicy": 2, "CreateLoginProfile": 1, "AddUserToGroup": 2,
    "PutBucketTagging": 4, "PutBucketVersioning": 3, "PutBucketEncryption": 3,
    "PutBucketPublicAccessBlock": 3, "CreateBucket": 2,
    "StopLogging": 1, "PutEventSelectors": 1, "UpdateTrail": 1,
    "SendCommand": 4, "StartSession": 3, "TerminateSession": 3, "ModifyDBInstance": 2,
}
READ_BOOST = {"DescribeInstances": 8, "DescribeSecurityGroups": 5, "GetCallerIdentity": 6,
              "DescribeInstanceInformation": 4, "ListObjects": 3, "DescribeVolumes": 3,
              "DescribeInstanceStatus": 3, "GetBucketAcl": 2, "ListUsers": 2, "DescribeDBInstances": 3,
              "GetParameters": 3, "GetSecretValue": 2, "DescribeAddresses": 2, "DescribeTags": 2}
TOP_ORDER = ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
             "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
             "responseElements", "additionalEventData", "requestID", "eventID", "readOnly",
             "resources", "eventType", "apiVersion", "managementEvent", "recipientAccountId",
             "sharedEventID", "vpcEndpointId", "eventCategory", "tlsDetails",
             "sessionCredentialFromConsole"]

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
KEY_RE = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
PID_RE = re.compile(r"\b(?:AIDA|AROA|AIPA|ANPA|AGPA|ANVA)[A-Z0-9]{12,21}\b")
RES_RE = re.compile(r"\b(i|sg|sgr|vpc|subnet|vol|snap|ami|eni|r|igw|rtb|fl|lt|acl)-([0-9a-fA-F]{8}|[0-9a-fA-F]{17})\b")
ISO_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]00:?00)?$")
JAVA_RE = re.compile(r"^([A-Z][a-z]{2} \d{1,2}, \d{4}(,?) \d{1,2}:\d\d:\d\d [AP]M)$")
IP_RE = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
SLOT_RE = re.compile(r"@@([A-Za-z0-9_]+)@@")
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


# --------------------------------------------------------------------------------------------
# The real records

def load_real():
    out = []
    for f in sorted(glob.glob(REALDATA + "/stratus-red-team/*.json")):
        out += [("stratus-red-team/" + os.path.basename(f), r) for r in json.load(open(f))]
    for f in sorted(glob.glob(REALDATA + "/otrf/*.json") + glob.glob(REALDATA + "/awsdocs/*.ndjson")):
        for line in open(f):
            if line.strip():
                out.append((os.path.relpath(f, REALDATA), json.loads(line)))
    for f in sorted(glob.glob(REALDATA + "/seed-story/AWSLogs/*/CloudTrail/**/*.json.gz", recursive=True)):
        with gzip.open(f) as fh:
            out += [("seed-story", r) for r in json.load(fh)["Records"]]
    return out


def parse_time(s):
    m = ISO_RE.match(s)
    if m:
        return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")), "iso" + ("ms" if m.group(2) else "")
    m = JAVA_RE.match(s)
    if m:
        return calendar.timegm(time.strptime(s.replace(",", ""), "%b %d %Y %I:%M:%S %p")), "java" + m.group(2)
    return None


def fmt_time(t, kind):
    g = time.gmtime(t)
    if kind == "iso":
        return "%04d-%02d-%02dT%02d:%02d:%02dZ" % g[:6]
    if kind == "isoms":
        return "%04d-%02d-%02dT%02d:%02d:%02d.000Z" % g[:6]
    if kind in ("java", "java,"):
        h = g.tm_hour % 12 or 12
        return "%s %d, %d%s %d:%02d:%02d %s" % (MONTHS[g.tm_mon - 1], g.tm_mday, g.tm_year, kind[4:], h, g.tm_min,
                                              g.tm_sec, "PM" if g.tm_hour >= 12 else "AM")
    if kind == "epochms":
        return str(int(t) * 1000)
    raise ValueError(kind)


def normalise(src, r):
    """One real record, brought to a trail's shape (logstash/doc fields dropped, readOnly set)."""
    r = copy.deepcopy(r)
    r.pop("_src", None)
    r.pop("@version", None)
    ts = r.pop("@timestamp", None)
    if "eventTime" not in r and ts:
        r["eventTime"] = ts[:19] + "Z"
    if "readOnly" not in r:
        r["readOnly"] = r.get("eventName", "").startswith(READ_PREFIXES) or r.get("eventName") in (
            "AssumeRole", "AssumeRoleWithWebIdentity", "GetFederationToken")
    r.setdefault("eventID", "00000000-0000-4000-8000-000000000000")  # varied like every eventID
    r.setdefault("eventType", "AwsApiCall")
    r.setdefault("managementEvent", True)
    r.setdefault("eventCategory", "Management")
    if "recipientAccountId" not in r:
        r["recipientAccountId"] = (r.get("userIdentity") or {}).get("accountId", ACCOUNT)
    return {k: r[k] for k in sorted(r, key=lambda k: TOP_ORDER.index(k) if k in TOP_ORDER else 99)}


def category(r):
    if r.get("errorCode"):
        return "error"
    if r.get("eventName") in AUTH_NAMES:
        return "auth"
    return "read" if r.get("readOnly") is True else "write"


def make_error(r):
    """The same call refused: how a denied call is logged (errorCode, errorMessage, no response)."""
    r = copy.deepcopy(r)
    src = r["eventSource"].split(".")[0]
    name = r["eventName"]
    arn = (r.get("userIdentity") or {}).get("arn", "arn:aws:iam::%s:root" % ACCOUNT)
    if src == "ec2":
        code, msg = "Client.UnauthorizedOperation", "You are not authorized to perform this operation."
    else:
        code = "AccessDenied"
        msg = ("User: %s is not authorized to perform: %s:%s because no identity-based policy allows "
               "the %s:%s action" % (arn, src, name, src, name))
    out = {}
    for k, v in r.items():
        if k == "requestParameters":
            out["errorCode"] = code
            out["errorMessage"] = msg
        if k == "responseElements":
            v = None
        if k in ("resources",) and src == "ec2":
            continue
        out[k] = v
    out.setdefault("errorCode", code)
    out.setdefault("errorMessage", msg)
    return out


# --------------------------------------------------------------------------------------------
# Templates: a record serialised with @@SLOT@@ placeholders, split into literal pieces

class Template:
    def __init__(self, src, rec, cat):
        self.src, self.cat = src, cat
        self.name = rec["eventName"]
        self.source = rec["eventSource"]
        uid = rec.get("userIdentity") or {}
        self.itype = uid.get("type", "Unknown")
        t0 = parse_time(rec["eventTime"])[0]
        region = rec.get("awsRegion", "us-east-1")
        accounts = {a for a in (rec.get("recipientAccountId"), uid.get("accountId")) if a}
        exact = {}  # whole-string value -> slot
        subs = []   # (substring, slot), longest first
        self.times = {}  # slot -> (kind, offset)
        counters = collections.Counter()

        def new_slot(kind):
            counters[kind] += 1
            return "%s%d" % (kind, counters[kind])

        # The principal: its names and ids become the chosen principal's.
        if self.itype == "IAMUser":
            if uid.get("userName"):
                subs.append((uid["userName"], "UNAME"))
            if uid.get("principalId"):
                exact[uid["principalId"]] = "UPID"
        elif self.itype == "AssumedRole":
            arn = uid.get("arn", "")
            parts = arn.split("/")
            if len(parts) >= 3:
                subs.append((parts[1], "ROLE"))
                subs.append(("/".join(parts[2:]), "SESS"))
            pid = uid.get("principalId", "")
            if ":" in pid:
                exact[pid.split(":")[0]] = "ROLEID"
        if uid.get("accessKeyId"):
            exact[uid["accessKeyId"]] = "UKEY"
        rid = rec.get("requestID")
        self.rid_len = None
        if rid:
            exact[rid] = "RID"
            if not UUID_RE.fullmatch(rid):
                self.rid_len = len(rid)
        exact[rec["eventID"]] = "EID"
        ip = rec.get("sourceIPAddress", "")
        if IP_RE.match(ip) or ":" in ip:
            exact[ip] = "IP"
        ua = rec.get("userAgent", "")
        if ua.startswith("stratus-red-team"):
            exact[ua] = "UA"
        rp = rec.get("requestParameters") or {}
        for key, kind in (("bucketName", "BUCKET"), ("userName", "TUSER"), ("roleName", "TROLE")):
            v = rp.get(key) if isinstance(rp, dict) else None
            if isinstance(v, str) and len(v) >= 3 and v not in exact:
                subs.append((v, kind))
        for a in accounts:
            subs.append((a, "ACCOUNT"))
        subs.append((region, "REGION"))
        subs.sort(key=lambda p: -len(p[0]))
        self.region_bound = self.source in GLOBAL_SOURCES or self.source == "signin.amazonaws.com"

        def fix_str(s, key):
            if s in exact:
                return "@@%s@@" % exact[s]
            pt = parse_time(s) if len(s) >= 19 else None
            if pt and abs(pt[0] - t0) < 5 * 365 * 86400:
                if key == "eventTime":
                    slot = "T0"
                else:
                    slot = new_slot("TS")
                self.times[slot] = (pt[1], pt[0] - t0)
                return "@@%s@@" % slot
            for m in set(UUID_RE.findall(s)):
                exact[m] = exact.get(m) or new_slot("UUID")
                s = s.replace(m, "@@%s@@" % exact[m])
            for m in set(KEY_RE.findall(s)):
                exact[m] = exact.get(m) or new_slot("KEY_" + m[:4] + "_")
                s = s.replace(m, "@@%s@@" % exact[m])
            for m in set(PID_RE.findall(s)):
                exact[m] = exact.get(m) or new_slot("PID_" + m[:4] + "_")
                s = s.replace(m, "@@%s@@" % exact[m])
            for m in set(x.group(0) for x in RES_RE.finditer(s)):
                if m not in exact:
                    exact[m] = new_slot("RES_" + m.split("-")[0] + "_" + ("8" if len(m.split("-")[1]) == 8 else "") + "_")
                s = s.replace(m, "@@%s@@" % exact[m])
            for sub, slot in subs:
                if sub in s:
                    parts = SLOT_RE.split(s)  # never inside a placeholder already made
                    for j in range(0, len(parts), 2):
                        parts[j] = parts[j].replace(sub, "@@%s@@" % slot)
                    for j in range(1, len(parts), 2):
                        parts[j] = "@@%s@@" % parts[j]
                    s = "".join(parts)
            return s

        def walk(v, key=None):
            if isinstance(v, dict):
                return {k: walk(x, k) for k, x in v.items()}
            if isinstance(v, list):
                return [walk(x, key) for x in v]
            if isinstance(v, str):
                return fix_str(v, key)
            if isinstance(v, int) and not isinstance(v, bool) and 10**12 < v < 10**13 and abs(v / 1000 - t0) < 5 * 365 * 86400:
                slot = new_slot("TS")
                self.times[slot] = ("epochms", v // 1000 - t0)
                return "@@NUM_%s@@" % slot
            return v

        body = json.dumps(walk(rec), separators=(",", ":"), ensure_ascii=False)
        body = body.replace('"@@NUM_', "@@NUM_").replace('@@NUM_', "@@")
        # numbers: "@@TSn@@" was a quoted placeholder standing for a number -> unquote it
        for slot, (kind, _) in self.times.items():
            if kind == "epochms":
                body = body.replace('@@%s@@"' % slot, "@@%s@@" % slot)
        parts = SLOT_RE.split(body)
        self.pieces = parts[0::2]
        self.slots = parts[1::2]
        self.size = len(body)


# --------------------------------------------------------------------------------------------
# Pools: principals, IPs, resources (a few thousand principals/IPs, Zipf-skewed use)

FIRST = ["james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "william",
         "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah",
         "charles", "karen", "priya", "wei", "ahmed", "fatima", "kenji", "olga", "lucas", "sofia",
         "mateo", "amara", "ivan", "chen", "aisha", "noah", "emma", "liam", "mia", "arjun", "yuki", "omar"]
LAST = ["smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
        "martinez", "patel", "kim", "nguyen", "muller", "rossi", "silva", "kowalski", "tanaka", "okafor",
        "haddad", "ivanova", "larsen", "dubois", "schmidt", "cohen", "singh", "lopez", "wilson", "moore"]
TEAMS = ["payments", "billing", "search", "web", "api", "data", "ml", "etl", "reports", "auth",
         "inventory", "checkout", "ledger", "media", "notify", "ops", "platform", "backup", "audit"]
HUMAN_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "aws-cli/2.15.40 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/ec2.describe-instances",
    "aws-cli/2.13.25 Python/3.11.5 Linux/6.5.0-1017-aws exe/x86_64.ubuntu.22 prompt/off",
    "console.amazonaws.com", "AWS Internal",
]
AUTO_UAS = [
    "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8 cfg/retry-mode#legacy Botocore/1.34.84",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.46.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.156.0",
    "aws-sdk-go/1.51.21 (go1.22.2; linux; amd64)",
    "aws-sdk-java/2.25.31 Linux/5.10.214-202.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. md/internal io/sync http/Apache cfg/retry-mode/standard",
    "aws-sdk-js/3.556.0 ua/2.0 os/linux#5.10.214 lang/js md/nodejs#20.12.2 api/s3#3.556.0",
    "autoscaling.amazonaws.com",
]


class Pools:
    def __init__(self, rng):
        self.rng = rng
        R = rng
        hexid = lambda n: "".join(R.choice("0123456789abcdef") for _ in range(n))
        upid = lambda p: p + "".join(R.choice(UPPER) for _ in range(17))  # AIDA/AROA + 17
        akid = lambda p: p + "".join(R.choice(UPPER) for _ in range(16))  # AKIA/ASIA + 16

        def pub_ip():
            while True:
                a = R.choice([3, 13, 18, 34, 35, 44, 52, 54, 62, 77, 81, 86, 90, 91, 100, 104, 109, 141,
                              151, 176, 185, 188, 193, 195, 212, 213, 217])
                ip = "%d.%d.%d.%d" % (a, R.randrange(256), R.randrange(256), R.randrange(1, 255))
                return ip
        offices = ["198.51.100.%d" % R.randrange(1, 255) for _ in range(8)] + \
                  ["203.0.113.%d" % R.randrange(1, 255) for _ in range(8)]
        # IAM users: people and service users.
        users = []
        seen = set()
        while len(users) < 1400:
            if R.random() < 0.12:
                name = "svc-%s-%s" % (R.choice(TEAMS), R.choice(["reader", "writer", "sync", "deploy", "export", "scan"]))
                human = False
            else:
                f, l = R.choice(FIRST), R.choice(LAST)
                name = R.choice([f + "." + l, f[0] + l, f + "_" + l, f + l[0]])
                human = True
            if name in seen:
                continue
            seen.add(name)
            ips = [R.choice(offices) if R.random() < 0.6 else pub_ip() for _ in range(R.randint(1, 3))] if human else [pub_ip()]
            users.append({"UNAME": name, "UPID": upid("AIDA"), "keys": [akid("AKIA") for _ in range(R.randint(1, 2))],
                          "ips": ips, "uas": R.sample(HUMAN_UAS, 2) if human else [R.choice(AUTO_UAS)]})
        # Role sessions: SSO people, CI, instance profiles, Lambda functions, SDK sessions.
        roles = ["ops-engineer", "terraform-ci", "github-actions-deploy", "ReadOnlyAuditor",
                 "AWSReservedSSO_AdministratorAccess_%s" % hexid(16), "AWSReservedSSO_ReadOnlyAccess_%s" % hexid(16),
                 "AWSReservedSSO_PowerUserAccess_%s" % hexid(16), "OrganizationAccountAccessRole"]
        roles += ["%s-%s-role" % (t, k) for t in TEAMS for k in ("ec2", "lambda", "ecs-task")]
        roles += ["eks-node-%s" % hexid(6) for _ in range(10)]
        self.roles = roles
        sessions = []
        while len(sessions) < 2200:
            role = R.choice(roles)
            if role.startswith("AWSReservedSSO") or role in ("ops-engineer", "ReadOnlyAuditor"):
                sess = "%s.%s@example.com" % (R.choice(FIRST), R.choice(LAST))
                ips = [R.choice(offices) if R.random() < 0.7 else pub_ip()]
                uas = R.sample(HUMAN_UAS, 2)
            elif role.endswith("-ec2-role") or role.startswith("eks-node"):
                sess = "i-" + hexid(17)
                ips = [pub_ip()]
                uas = [R.choice(AUTO_UAS[:5])]
            elif role.endswith("-lambda-role"):
                sess = "%s-%s" % (role.split("-")[0], R.choice(["handler", "worker", "cron", "api"]))
                ips = [pub_ip()]
                uas = [AUTO_UAS[4]]
            elif role in ("terraform-ci", "github-actions-deploy"):
                sess = "GitHubActions-%d" % R.randrange(10**9, 10**10)
                ips = [pub_ip()]
                uas = [AUTO_UAS[1]]
            else:
                sess = "botocore-session-%d" % R.randrange(1700000000, 1720000000)
                ips = [pub_ip()]
                uas = [AUTO_UAS[0]]
            sessions.append({"ROLE": role, "SESS": sess, "ROLEID": upid("AROA"), "keys": [akid("ASIA")],
                             "ips": ips, "uas": uas})
        # Zipf use: a few busy principals (automation first), a long tail.
        def zipf_cum(items, s=1.15):
            R.shuffle(items)
            w, cum = 0.0, []
            for i in range(len(items)):
                w += 1.0 / (i + 1) ** s
                cum.append(w)
            return items, cum
        self.users, self.users_cum = zipf_cum(users)
        self.sessions, self.sessions_cum = zipf_cum(sessions)
        self.region_res = {}
        self.buckets = ["%s-%s-%s" % (R.choice(["acme", "corp", "prod", "stage", "dev"]), R.choice(TEAMS),
                                       R.choice(["logs", "assets", "exports", "backups", "data", "artifacts"])) +
                        ("-" + ACCOUNT if R.random() < 0.5 else "") for _ in range(160)]
        self.hexid = hexid

    def pick(self, items, cum):
        return items[bisect.bisect_left(cum, self.rng.random() * cum[-1])]

    def resource(self, region, kind, width):
        """A resource id from the region's pool (a few hundred per kind, skewed)."""
        key = (region, kind, width)
        pool = self.region_res.get(key)
        if pool is None:
            n = {"i": 2500, "sg": 250, "sgr": 900, "vpc": 12, "subnet": 60, "vol": 3000, "snap": 1500,
                 "ami": 80, "eni": 2500, "r": 2000}.get(kind, 300)
            pool = ["%s-%s" % (kind, self.hexid(width)) for _ in range(n)]
            self.region_res[key] = pool
        return pool[min(int(self.rng.expovariate(1.0) * len(pool) / 6), len(pool) - 1)]


# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--start", default="2024-04-01", help="first day (UTC), YYYY-MM-DD")
    ap.add_argument("--level", type=int, default=6, help="gzip level (zlib's default 6)")
    args = ap.parse_args()
    t_start = time.time()
    rng = random.Random(args.seed)
    out = args.out
    if os.path.exists(os.path.join(out, "AWSLogs")):
        sys.exit("gen-cloudtrail: %s/AWSLogs exists; remove it first" % out)

    # Templates.
    real = load_real()
    templates = []
    for src, r in real:
        n = normalise(src, r)
        templates.append(Template(src, n, category(n)))
        if category(n) in ("read", "write") and rng.random() < 0.5:
            templates.append(Template(src + " (denied)", make_error(n), "error"))
    by_cat = collections.defaultdict(lambda: collections.defaultdict(list))
    for t in templates:
        by_cat[t.cat][(t.source, t.name)].append(t)
    cat_pick = {}
    for cat, groups in by_cat.items():
        keys = sorted(groups)
        w = []
        for k in keys:
            base = {"write": WRITE_BOOST, "read": READ_BOOST}.get(cat, {}).get(k[1], 1)
            w.append(float(base))
        cum, s = [], 0.0
        for x in w:
            s += x
            cum.append(s)
        cat_pick[cat] = (keys, cum, groups)
    mix_cum, s = [], 0.0
    for _, p in MIX:
        s += p
        mix_cum.append(s)

    def choose_template():
        cat = MIX[bisect.bisect_left(mix_cum, rng.random() * s)][0]
        keys, cum, groups = cat_pick[cat]
        g = groups[keys[bisect.bisect_left(cum, rng.random() * cum[-1])]]
        return g[rng.randrange(len(g))]

    pools = Pools(rng)
    root = {"UPID": ACCOUNT, "keys": [pools.hexid(4).upper() + "ROOTKEY0000000"], "ips": ["198.51.100.7"], "uas": HUMAN_UAS[:1]}

    def uuid4():
        v = rng.getrandbits(128)
        h = "%032x" % v
        return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[v & 3], h[17:20], h[20:32])

    def key(prefix):
        return prefix + "".join(rng.choice(UPPER) for _ in range(16))

    def render(t, et, region):
        if t.itype == "IAMUser":
            p = pools.pick(pools.users, pools.users_cum)
        elif t.itype == "AssumedRole":
            p = pools.pick(pools.sessions, pools.sessions_cum)
        else:
            p = root
        v = {}
        out = [t.pieces[0]]
        for i, slot in enumerate(t.slots):
            x = v.get(slot)
            if x is None:
                if slot == "T0":
                    x = fmt_time(et, "iso")
                elif slot in t.times:
                    kind, off = t.times[slot]
                    x = fmt_time(et + off, kind)
                elif slot == "REGION":
                    x = region
                elif slot == "ACCOUNT":
                    x = ACCOUNT
                elif slot == "RID" and t.rid_len:
                    x = "".join(rng.choice(UPPER) for _ in range(t.rid_len))
                elif slot in ("EID", "RID") or slot.startswith("UUID"):
                    x = uuid4()
                elif slot in ("UNAME", "UPID", "ROLE", "SESS", "ROLEID"):
                    x = p.get(slot) or p.get("UPID")
                elif slot == "UKEY":
                    x = p["keys"][0] if len(p["keys"]) == 1 or rng.random() < 0.8 else p["keys"][-1]
                elif slot == "IP":
                    ips = p["ips"]
                    x = ips[0] if len(ips) == 1 or rng.random() < 0.7 else rng.choice(ips)
                elif slot == "UA":
                    x = p["uas"][0] if len(p["uas"]) == 1 or rng.random() < 0.6 else p["uas"][1]
                elif slot == "BUCKET":
                    x = pools.buckets[min(int(rng.expovariate(1.0) * 20), len(pools.buckets) - 1)]
                elif slot == "TUSER":
                    x = pools.pick(pools.users, pools.users_cum)["UNAME"]
                elif slot == "TROLE":
                    x = rng.choice(pools.roles)
                elif slot.startswith("KEY_"):
                    x = key(slot[4:8])
                elif slot.startswith("PID_"):
                    x = slot[4:8] + "".join(rng.choice(UPPER) for _ in range(17))
                elif slot.startswith("RES_"):
                    kind, width, _ = slot[4:].split("_")
                    x = pools.resource(region, kind, 8 if width else 17)
                else:
                    raise KeyError(slot)
                v[slot] = x
            out.append(x)
            out.append(t.pieces[i + 1])
        return "".join(out)

    # Traffic profile: weekday business hours (EU + US, 08:00-22:00 UTC) busy, nights and weekends
    # quiet, bursty (log-normal noise per window); per region shares.
    t0 = calendar.timegm(time.strptime(args.start, "%Y-%m-%d"))
    nwin = args.days * 86400 // WINDOW
    weights = []
    for w in range(nwin):
        tm = time.gmtime(t0 + w * WINDOW)
        busy = 8 <= tm.tm_hour < 22
        weekend = tm.tm_wday >= 5
        base = (1.0 if busy else 0.025) * (0.08 if weekend else 1.0)
        if tm.tm_hour % 6 == 2 and tm.tm_min < 10:
            base += 0.6  # the six-hourly inventory sweeps
        for ri, (region, share) in enumerate(REGIONS):
            weights.append(base * share * rng.lognormvariate(0, 0.7))
    total_w = sum(weights)
    # exact counts summing to --records (cumulative rounding)
    counts, acc, given = [], 0.0, 0
    for x in weights:
        acc += x * args.records / total_w
        c = int(round(acc)) - given
        counts.append(c)
        given += c
    del weights

    pending = collections.defaultdict(list)  # (delivery window, region) -> [(eventTime, json)]
    hour_files = collections.defaultdict(list)  # region -> this hour's log files
    prev_digest = {}
    stats = collections.Counter()
    file_sizes = []
    cat_count = collections.Counter()
    size_sum = 0

    def write(path, data):
        full = os.path.join(out, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(data)

    def gz(raw):
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=args.level, mtime=0) as g:
            g.write(raw)
        return buf.getvalue()

    def flush_delivery(d):
        for region, _ in REGIONS:
            recs = pending.pop((d, region), None)
            if not recs:
                continue
            rng.shuffle(recs)  # a file holds its window's records in no particular order
            ft = t0 + (d + 1) * WINDOW
            g = time.gmtime(ft)
            name = "%s_CloudTrail_%s_%04d%02d%02dT%02d%02dZ_%s.json.gz" % (
                ACCOUNT, region, g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min,
                "".join(rng.choice(ALNUM) for _ in range(16)))
            path = "AWSLogs/%s/CloudTrail/%s/%04d/%02d/%02d/%s" % (ACCOUNT, region, g.tm_year, g.tm_mon, g.tm_mday, name)
            raw = ('{"Records":[' + ",".join(r for _, r in recs) + "]}").encode()
            data = gz(raw)
            write(path, data)
            stats["files"] += 1
            stats["records"] += len(recs)
            stats["bytes_uncompressed"] += len(raw)
            stats["bytes_compressed"] += len(data)
            file_sizes.append(len(recs))
            hour_files[region].append({
                "s3Bucket": BUCKET, "s3Object": path, "hashValue": hashlib.sha256(data).hexdigest(),
                "hashAlgorithm": "SHA-256", "newestEventTime": fmt_time(max(t for t, _ in recs), "iso"),
                "oldestEventTime": fmt_time(min(t for t, _ in recs), "iso")})

    def flush_digest(hour_end):
        for region, _ in REGIONS:
            files = hour_files.pop(region, [])
            g = time.gmtime(hour_end)
            stamp = "%04d%02d%02dT%02d%02d%02dZ" % g[:6]
            path = "AWSLogs/%s/CloudTrail-Digest/%s/%04d/%02d/%02d/%s_CloudTrail-Digest_%s_%s_us-east-1_%s.json.gz" % (
                ACCOUNT, region, g.tm_year, g.tm_mon, g.tm_mday, ACCOUNT, region, TRAIL, stamp)
            d = {"awsAccountId": ACCOUNT, "digestStartTime": fmt_time(hour_end - 3600, "iso"),
                 "digestEndTime": fmt_time(hour_end, "iso"), "digestS3Bucket": BUCKET, "digestS3Object": path,
                 "digestPublicKeyFingerprint": "%032x" % rng.getrandbits(128),
                 "digestSignatureAlgorithm": "SHA256withRSA"}
            if files:
                d["newestEventTime"] = max(f["newestEventTime"] for f in files)
                d["oldestEventTime"] = min(f["oldestEventTime"] for f in files)
            prev = prev_digest.get(region)
            d["previousDigestS3Bucket"] = BUCKET
            d["previousDigestS3Object"] = prev[0] if prev else None
            d["previousDigestHashValue"] = prev[1] if prev else None
            d["previousDigestHashAlgorithm"] = "SHA-256" if prev else None
            d["previousDigestSignature"] = "%0512x" % rng.getrandbits(2048) if prev else None
            d["logFiles"] = files
            data = gz(json.dumps(d, separators=(",", ":")).encode())
            write(path, data)
            prev_digest[region] = (path, hashlib.sha256(data).hexdigest())
            stats["digest_files"] += 1

    i = 0
    last_report = time.time()
    for w in range(nwin + 3):
        if w < nwin:
            wstart = t0 + w * WINDOW
            for ri, (region, _) in enumerate(REGIONS):
                for _ in range(counts[i]):
                    t = choose_template()
                    et = wstart + rng.randrange(WINDOW)
                    reg = "us-east-1" if t.region_bound else region
                    rec = render(t, et, reg)
                    size_sum += len(rec)
                    cat_count[t.cat] += 1
                    d = (et + rng.randrange(300, 901) - t0) // WINDOW  # delivered 5-15 min later
                    pending[(d, reg)].append((et, rec))
                i += 1
        # delivery window w+1 can receive no more records (later events deliver to >= w+2)
        flush_delivery(w)
        if (w + 1) % 12 == 0:
            flush_digest(t0 + (w + 1) * WINDOW)
        if time.time() - last_report > 10:
            last_report = time.time()
            print("  %d/%d records, %d files" % (stats["records"], args.records, stats["files"]), file=sys.stderr)
    while pending:
        d = min(k[0] for k in pending)
        flush_delivery(d)
    flush_digest(t0 + (nwin + 12 - nwin % 12 + 12) * WINDOW)

    file_sizes.sort()
    summary = {
        "records": stats["records"], "files": stats["files"], "digest_files": stats["digest_files"],
        "bytes_compressed": stats["bytes_compressed"], "bytes_uncompressed": stats["bytes_uncompressed"],
        "mean_record_bytes": round(size_sum / max(1, stats["records"]), 1),
        "records_per_file": {"mean": round(stats["records"] / max(1, stats["files"]), 1),
                             "median": file_sizes[len(file_sizes) // 2] if file_sizes else 0,
                             "p90": file_sizes[int(len(file_sizes) * 0.9)] if file_sizes else 0,
                             "max": file_sizes[-1] if file_sizes else 0},
        "mix": {k: round(v / max(1, stats["records"]), 4) for k, v in sorted(cat_count.items())},
        "templates": len(templates), "real_records": len(real),
        "seed": args.seed, "days": args.days, "start": args.start,
        "regions": [r for r, _ in REGIONS], "account": ACCOUNT,
        "seconds": round(time.time() - t_start, 1),
    }
    fixed = {k: v for k, v in summary.items() if k != "seconds"}  # the README is deterministic too
    readme = README.format(**summary, summary=json.dumps(fixed, indent=2),
                           args="--records %d --seed %d --days %d --start %s --level %d" % (
                               args.records, args.seed, args.days, args.start, args.level))
    with open(os.path.join(out, "README.md"), "w") as fh:
        fh.write(readme)
    print("files %d (+%d digest), records %d, %.1f MB compressed, %.1f MB uncompressed, mean record %.0f B, %.1f s" % (
        summary["files"], summary["digest_files"], summary["records"], summary["bytes_compressed"] / 1e6,
        summary["bytes_uncompressed"] / 1e6, summary["mean_record_bytes"], summary["seconds"]))
    print(json.dumps(summary, separators=(",", ":")))


README = """# Generated CloudTrail (S3 delivery layout) for the import benchmark (issue 11)

Written by `scripts/gen-cloudtrail.py {args}`. **Generated, not observed**: every record is one of
the {real_records} real records in `/work/shared/realdata/cloudtrail/` (stratus-red-team, otrf, awsdocs,
seed-story) used as a template, its structure kept and its values varied (ids, uuids, keys, names,
times, source IPs, account `{account}`, regions). IPs are random addresses, not observations.

```
AWSLogs/{account}/CloudTrail/REGION/YYYY/MM/DD/{account}_CloudTrail_REGION_YYYYMMDDTHHmmZ_<16 chars>.json.gz
AWSLogs/{account}/CloudTrail-Digest/REGION/YYYY/MM/DD/..._CloudTrail-Digest_...json.gz   <- not a log file: skip
```

{records} records in {files} gzip log files (`{{"Records": [...]}}`), plus {digest_files} digest files (one per
region per hour, listing that hour's log files with their SHA-256; no events) and this README.
{days} days from {start}, regions {regions} (global services - IAM, sign-in - in us-east-1).
A file holds the records delivered in one 5-minute window of one region, in no particular order;
each record is delivered 5-15 minutes after its eventTime, so file order is not event order.

Summary:

```json
{summary}
```
"""

if __name__ == "__main__":
    main()
