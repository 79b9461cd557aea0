#!/usr/bin/env python3
"""Runs Timesketch's own import code over a Tideline export, without a Timesketch server.

    python tests/interop/check_timesketch.py EXPORT.jsonl|EXPORT.csv

Two paths, both Timesketch's code as published on PyPI (versions pinned in requirements.txt):

1. server: the file as the web UI uploads it. Timesketch's worker task (`run_csv_jsonl` in
   timesketch/lib/tasks.py) opens it the same way and indexes what
   `timesketch.lib.utils.read_and_validate_csv` (`.csv`) or `read_and_validate_jsonl`
   (`.jsonl`) yields.
2. client: the file as `timesketch_importer` and the `timesketch` CLI upload it:
   `timesketch_import_client.importer.ImportStreamer.add_file` reshapes the rows and posts them
   as an `events` form field; here the post is caught (no network) and its events go through
   `read_and_validate_jsonl`, as `run_csv_jsonl` does with `events`.

Fails (exit 1) if Timesketch raises, logs an error, or yields fewer (or more) events than the
file has records; also if the yielded events would break the worker's field-mapping limit
(`len(keys) * 2 * 1.1 > 1000`, the default OPENSEARCH_MAPPING_UPPER_LIMIT) or lack the types
OpenSearch indexes them as (`datetime` ISO 8601, `timestamp` integer microseconds, `tag` a list
of strings, `timestamp` the same instant as `datetime`).
"""
import csv
import datetime
import io
import json
import logging
import pathlib
import sys

from dateutil import parser as date_parser
from timesketch.lib import utils as server_utils
from timesketch_import_client import importer

MAPPING_UPPER_LIMIT = 1000
MAPPING_BUFFER = 0.1
MAX_REPORTED = 20
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class _Problems(logging.Handler):
    """Timesketch reports dropped and skipped rows only through logging: keep every warning."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(f"{record.name}: {record.getMessage()}"[:500])


class _CaughtSession:
    """Stands in for the API client's HTTP session: keeps what the streamer would upload."""

    def __init__(self):
        self.events = []

    def post(self, url, data=None, files=None):
        if not files or "events" not in files:
            raise RuntimeError(f"the streamer tried to upload something other than events to {url}")
        self.events.append(files["events"][1])
        return _Created()


class _Created:
    status_code = 201
    reason = "CREATED"
    text = ""

    @staticmethod
    def json():
        return {"objects": [{"id": 1, "searchindex": {"index_name": "caught"}}], "meta": {"task_id": ""}}


class _Sketch:
    id = 1

    def __init__(self, session):
        self.api = type("Api", (), {"api_root": "http://timesketch.invalid/api/v1", "session": session})()


def count_records(path):
    """How many events the file holds, read without Timesketch."""
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            return sum(1 for _ in csv.DictReader(handle))
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def server_path(path):
    validate = server_utils.read_and_validate_csv if path.suffix == ".csv" else server_utils.read_and_validate_jsonl
    # As run_csv_jsonl opens an uploaded file.
    with open(path, "r", encoding="utf-8", errors="replace") as handle:
        yield from validate(file_handle=handle, headers_mapping=None, delimiter=",")


def client_path(path):
    session = _CaughtSession()
    streamer = importer.ImportStreamer()
    streamer.set_sketch(_Sketch(session))
    streamer.set_timeline_name(path.stem)
    streamer.add_file(str(path))
    streamer.close()
    for payload in session.events:
        # run_csv_jsonl: `events` → io.StringIO → read_and_validate_jsonl.
        yield from server_utils.read_and_validate_jsonl(file_handle=io.StringIO(payload), headers_mapping=None, delimiter=",")


def event_problems(events):
    """Reads the events Timesketch yields (a generator: a large export is never all in memory)."""
    problems = []
    keys = set()
    count = 0
    for number, event in enumerate(events, start=1):
        count = number
        keys.update(event)
        try:
            when = date_parser.isoparse(event["datetime"])
        except (KeyError, TypeError, ValueError):
            problems.append(f"event {number}: datetime {event.get('datetime')!r} is not ISO 8601")
            when = None
        timestamp = event.get("timestamp")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            problems.append(f"event {number}: timestamp {timestamp!r} is not integer microseconds")
        elif when is not None:
            # Timesketch keeps a JSONL line's own timestamp (it sorts and charts by it) and reads a
            # datetime without an offset as UTC: the two must name the same microsecond.
            if when.tzinfo is None:
                when = when.replace(tzinfo=datetime.timezone.utc)
            micros = (when - EPOCH) // datetime.timedelta(microseconds=1)
            if micros != timestamp:
                problems.append(f"event {number}: timestamp {timestamp} is not datetime {event['datetime']} in microseconds ({micros})")
        tag = event.get("tag", [])
        if not isinstance(tag, list) or not all(isinstance(t, str) for t in tag):
            problems.append(f"event {number}: tag {tag!r} is not a list of strings")
        if not isinstance(event.get("message"), str) or not event.get("message"):
            problems.append(f"event {number}: message is empty")
        del problems[MAX_REPORTED:]
    needed = int((len(keys) * 2) * (1 + MAPPING_BUFFER))
    if needed > MAPPING_UPPER_LIMIT:
        problems.append(f"{len(keys)} distinct fields need a mapping limit of {needed} > {MAPPING_UPPER_LIMIT}: Timesketch refuses the import")
    return count, problems


def main(argv):
    if len(argv) != 1 or pathlib.Path(argv[0]).suffix not in (".csv", ".jsonl"):
        print("usage: check_timesketch.py EXPORT.jsonl|EXPORT.csv", file=sys.stderr)
        return 2
    path = pathlib.Path(argv[0])
    expected = count_records(path)
    handler = _Problems()
    logging.getLogger().addHandler(handler)
    failed = expected == 0
    if expected == 0:
        print(f"check_timesketch: {path} has no records", file=sys.stderr)
    for name, run in (("server", server_path), ("client", client_path)):
        handler.messages.clear()
        try:
            count, problems = event_problems(run(path))
        except Exception as error:  # Timesketch's own refusal, whatever its class: that is the finding.
            print(f"check_timesketch: {name}: Timesketch refused the file: {type(error).__name__}: {str(error)[:1000]}", file=sys.stderr)
            failed = True
            continue
        problems = [f"Timesketch logged: {m}" for m in handler.messages] + problems
        if count != expected:
            problems.append(f"Timesketch yielded {count} events of the file's {expected}")
        for problem in problems[:MAX_REPORTED]:
            print(f"check_timesketch: {name}: {problem}", file=sys.stderr)
        if problems:
            failed = True
        else:
            print(f"check_timesketch: {name}: {count} of {expected} events accepted")
    if failed:
        print("check_timesketch: FAILED", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
