#!/usr/bin/env python3
"""Validates an `export --format ocsf-json` file against OCSF 1.1.0.

    python tests/interop/check_ocsf.py OCSF_NDJSON

Every line must be one JSON object that validates against the JSON Schema of its class
(tests/fixtures/ocsf/1.1.0, generated from the official schema: see SOURCES.md there):
API Activity (6003) or Authentication (3002), with the cloud and datetime profiles. That
rejects a wrong type, a missing required attribute, an enum value the class does not define,
a broken `at_least_one` constraint and any attribute the schema does not define (every OCSF
object is closed; only `unmapped` is open). On top of the schema, each event must meet what
OCSF says in prose: type_uid = class_uid * 100 + activity_id, each `*_name`/`severity`/`status`
sibling is the caption of its id (except for 99 Other), metadata.version is 1.1.0 and
metadata.profiles names the profiles the event uses. And what Tideline promises (marked
"contract"): metadata.product.name is Tideline, (metadata.log_provider, metadata.uid) is unique, times are epoch ms.

Exit 0 when every line passes; otherwise 1, naming the line and the attribute path of each problem.
"""
import json
import pathlib
import sys
from collections import Counter

from jsonschema import Draft202012Validator, validators

SCHEMA_DIR = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "ocsf" / "1.1.0"
CLASSES = {6003: "api_activity", 3002: "authentication"}
PROFILES = {"cloud", "datetime"}
OTHER = 99
MAX_REPORTED = 30
# Epoch ms between 2000-01-01 and 2100-01-01: catches seconds or microseconds written as ms.
MS_RANGE = (946_684_800_000, 4_102_444_800_000)
TIME_PATHS = [
    ("time",), ("start_time",), ("end_time",),
    ("metadata", "logged_time"), ("metadata", "processed_time"), ("metadata", "modified_time"),
    ("actor", "session", "created_time"), ("actor", "session", "expiration_time"),
]


def strict_validator(schema):
    """A 2020-12 validator for which 1.0 is not an integer (JSON Schema's own rule accepts it,
    but OCSF integers are written as integers and Parquet/Spark readers would type them apart)."""
    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    cls = validators.extend(Draft202012Validator, type_checker=checker)
    Draft202012Validator.check_schema(schema)
    return cls(schema)


def load():
    schemas = {uid: strict_validator(json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text()))
               for uid, name in CLASSES.items()}
    siblings = json.loads((SCHEMA_DIR / "siblings.json").read_text())
    return schemas, siblings


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate member {key!r}")
        seen[key] = value
    return seen


def parse_line(text):
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)


def _path(parts):
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts) or "."


def describe(error):
    """One line for a schema error, saying what OCSF wanted in words a mapper can act on."""
    where = _path(error.absolute_path)
    if error.validator == "anyOf" and all(set(s) == {"required"} for s in error.validator_value):
        names = [s["required"][0] for s in error.validator_value]
        return f"{where}: needs at least one of {', '.join(names)} (OCSF at_least_one)"
    if error.validator == "oneOf" and all(set(s) == {"required"} for s in error.validator_value):
        names = [s["required"][0] for s in error.validator_value]
        return f"{where}: needs exactly one of {', '.join(names)} (OCSF just_one)"
    if error.validator == "additionalProperties":
        return f"{where}: {error.message} (not an OCSF 1.1.0 attribute here: use `unmapped`)"
    if error.validator == "pattern":
        return f"{where}: {error.instance!r} does not match the pattern OCSF 1.1.0 gives this type (e.g. ip_t, hostname_t, email_t)"
    if error.validator == "required":
        return f"{where}: {error.message} (required by OCSF 1.1.0)"
    return f"{where}: {error.message[:300]}"


def _get(event, parts):
    value = event
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _uses_datetime_profile(value):
    if isinstance(value, dict):
        return any(k.endswith("_dt") or _uses_datetime_profile(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_uses_datetime_profile(v) for v in value)
    return False


def check_event(event, schemas, siblings):
    """The problems of one event, as strings; empty when it passes."""
    if not isinstance(event, dict):
        return [f"not a JSON object but {type(event).__name__}"]
    class_uid = event.get("class_uid")
    if class_uid not in schemas:
        return [f".class_uid: {class_uid!r} is not a class Tideline exports (6003 or 3002)"]
    problems = [describe(e) for e in sorted(schemas[class_uid].iter_errors(event), key=lambda e: list(e.absolute_path))]

    activity_id = event.get("activity_id")
    if isinstance(activity_id, int) and event.get("type_uid") != class_uid * 100 + activity_id:
        problems.append(f".type_uid: {event.get('type_uid')!r} is not class_uid * 100 + activity_id = {class_uid * 100 + activity_id}")
    for id_name, rule in siblings[CLASSES[class_uid]].items():
        value, sibling = event.get(id_name), event.get(rule["sibling"])
        if isinstance(value, int) and isinstance(sibling, str) and value != OTHER:
            caption = rule["captions"].get(str(value))
            # type_uid's captions read "API Activity: Create"; for activity 99 the name is the source's.
            if id_name == "type_uid" and activity_id == OTHER:
                continue
            if caption is not None and sibling != caption:
                problems.append(f".{rule['sibling']}: {sibling!r} is not the caption of {id_name} {value} ({caption!r})")

    metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    if metadata.get("version") != "1.1.0":
        problems.append(f".metadata.version: {metadata.get('version')!r}, expected \"1.1.0\"")
    profiles = metadata.get("profiles", [])
    if isinstance(profiles, list):
        unknown = sorted(set(map(str, profiles)) - PROFILES)
        if unknown:
            problems.append(f".metadata.profiles: {unknown} not checked here (only cloud, datetime)")
        if "cloud" in event and "cloud" not in profiles:
            problems.append(".metadata.profiles: the event has `cloud` but does not list the \"cloud\" profile")
        if "api" in event and class_uid == 3002 and "cloud" not in profiles:
            problems.append(".metadata.profiles: Authentication's `api` comes from the \"cloud\" profile, not listed")
        if _uses_datetime_profile(event) and "datetime" not in profiles:
            problems.append(".metadata.profiles: the event has *_dt attributes but does not list \"datetime\"")

    product = metadata.get("product") if isinstance(metadata.get("product"), dict) else {}
    if product.get("name") != "Tideline":
        problems.append(f"contract: .metadata.product.name is {product.get('name')!r}, expected \"Tideline\"")
    if not isinstance(metadata.get("uid"), str) or not metadata.get("uid"):
        problems.append("contract: .metadata.uid (the event id) is missing")
    for parts in TIME_PATHS:
        value = _get(event, parts)
        if isinstance(value, int) and not MS_RANGE[0] <= value < MS_RANGE[1]:
            problems.append(f"contract: {_path(parts)}: {value} is not epoch milliseconds in 2000..2100")
    return problems


def main(argv):
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    schemas, siblings = load()
    failures, by_class, uids = [], Counter(), Counter()
    lines = 0
    with open(argv[0], "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            lines = number
            try:
                event = parse_line(raw.decode("utf-8"))
            except ValueError as error:
                failures.append((number, [f"not one JSON value: {error}"]))
                continue
            problems = check_event(event, schemas, siblings)
            if isinstance(event, dict):
                by_class[event.get("class_uid")] += 1
                # An event is its (source, id), as in CloudEvents: the same id from two sources
                # is two events (`metadata.log_provider` is the source).
                uid = _get(event, ("metadata", "uid"))
                if isinstance(uid, str):
                    uids[(_get(event, ("metadata", "log_provider")), uid)] += 1
            if problems:
                failures.append((number, problems))
    duplicates = [uid for uid, n in uids.items() if n > 1]
    if lines == 0:
        print(f"check_ocsf: {argv[0]} has no events", file=sys.stderr)
        return 1
    if failures or duplicates:
        for number, problems in failures[:MAX_REPORTED]:
            for problem in problems[:10]:
                print(f"check_ocsf: line {number}: {problem}", file=sys.stderr)
        if duplicates:
            print(f"check_ocsf: contract: {len(duplicates)} (metadata.log_provider, metadata.uid) pairs repeat, "
                  f"e.g. {duplicates[:3]}", file=sys.stderr)
        print(f"check_ocsf: FAILED: {len(failures)} of {lines} events invalid", file=sys.stderr)
        return 1
    classes = ", ".join(f"{uid}: {n}" for uid, n in sorted(by_class.items()))
    print(f"check_ocsf: {lines} events valid against OCSF 1.1.0 ({classes})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
