#!/usr/bin/env python3
"""The floor a user would script for a CloudTrail S3 tree (issue 11's comparison).

    python3 scripts/python-floor.py DIR

Walks DIR; for each `*.json.gz` log file (CloudTrail-Digest files skipped): `gzip.open`,
`json.load`, iterate `Records`, and per record do minimal real work: read `eventTime`,
`eventName` and `userIdentity.arn`, count records by eventName (and keep the time extent).
The last line printed is JSON: {"records", "seconds", "records_per_s", ...}.
"""
import collections
import gzip
import json
import os
import sys
import time


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python-floor.py DIR")
    top = sys.argv[1]
    start = time.perf_counter()
    by_name = collections.Counter()
    principals = set()
    records = files = skipped = 0
    first = last = None
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(".json.gz"):
                continue
            if "CloudTrail-Digest" in name or "CloudTrail-Digest" in dirpath:
                skipped += 1
                continue
            with gzip.open(os.path.join(dirpath, name)) as fh:
                doc = json.load(fh)
            files += 1
            for r in doc.get("Records", ()):
                t = r["eventTime"]
                by_name[r["eventName"]] += 1
                principals.add((r.get("userIdentity") or {}).get("arn"))
                if first is None or t < first:
                    first = t
                if last is None or t > last:
                    last = t
                records += 1
    seconds = time.perf_counter() - start
    print("%d records in %d files (%d digest files skipped), %d event names, %d principals, %s .. %s"
          % (records, files, skipped, len(by_name), len(principals), first, last))
    print("top event names: " + ", ".join("%s %d" % kv for kv in by_name.most_common(5)))
    print(json.dumps({"records": records, "seconds": round(seconds, 3),
                      "records_per_s": round(records / seconds) if seconds > 0 else None,
                      "files": files, "skipped_files": skipped}))


if __name__ == "__main__":
    main()
