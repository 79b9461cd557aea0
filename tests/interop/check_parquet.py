#!/usr/bin/env python3
"""Reads an `export --format ocsf-parquet` dataset with Spark or DuckDB and checks it against
`tideline-cli info --json`.

    python tests/interop/check_parquet.py --engine spark|duckdb PARQUET_DIR EXPECTED_JSON

PARQUET_DIR must hold only `account=<account>/date=<YYYY-MM-DD>/part-*.parquet`, every file zstd
and with the same schema (Athena and Glue refuse a table whose partitions disagree). The dataset
is read as a Hive-partitioned table by the chosen engine (partition values kept as strings, so an
account id keeps its leading zeros), then:

- columns: `time` and `type_uid` int64; `class_uid`, `category_uid`, `activity_id`,
  `severity_id`, `status_id` int32 or int64; `metadata.uid`, `metadata.version`,
  `metadata.product.name`, `cloud.account.uid` and `raw_data` strings; `unmapped` a struct or
  map, or a string that holds a JSON object in every row;
- rows: `metadata.version` is 1.1.0 everywhere, `metadata.uid` is unique, the `date` partition
  is the UTC date of `time`, the `account` partition equals `cloud.account.uid`;
- counts, compared with EXPECTED_JSON (the `info --json` output): `events` = all rows;
  `by_change.create|update|delete` = rows of class 6003 with activity_id 1|3|4 and status_id 1
  (Success); `by_account` = rows per `account=` partition (no account, Hive's default partition,
  as ""); `by_date` = rows per `date=` partition.

Exit 0 when all hold; otherwise 1 with every mismatch named.
"""
import argparse
import datetime
import json
import pathlib
import re
import sys
import time

PART = re.compile(r"^account=([^/=]+)/date=(\d{4}-\d{2}-\d{2})/part-[^/]*\.parquet$")
INT32_OR_64 = {"int32", "int64"}
COLUMNS = {
    "time": {"int64"},
    "type_uid": {"int64"},
    "class_uid": INT32_OR_64,
    "category_uid": INT32_OR_64,
    "activity_id": INT32_OR_64,
    "severity_id": INT32_OR_64,
    "status_id": INT32_OR_64,
    "metadata.uid": {"string"},
    "metadata.version": {"string"},
    "metadata.product.name": {"string"},
    "cloud.account.uid": {"string"},
    "raw_data": {"string"},
    "unmapped": {"string", "struct", "map"},
}
CHANGES = {1: "create", 3: "update", 4: "delete"}


def layout_problems(root):
    """The files and partitions, read from the directory tree itself."""
    problems, files = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        match = PART.match(relative)
        if not match:
            problems.append(f"layout: {relative} is not account=<account>/date=<YYYY-MM-DD>/part-*.parquet")
            continue
        try:
            datetime.date.fromisoformat(match.group(2))
        except ValueError:
            problems.append(f"layout: {relative}: {match.group(2)} is not a date")
        files.append(path)
    if not files:
        problems.append(f"layout: no part-*.parquet files under {root}")
    return problems, files


def file_problems(files):
    """Compression and one schema for all files, from the files' own Parquet metadata."""
    import duckdb

    con = duckdb.connect()
    listing = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    problems = []
    for (codec,) in con.execute(f"SELECT DISTINCT compression FROM parquet_metadata({listing}) ORDER BY 1").fetchall():
        if str(codec).upper() != "ZSTD":
            problems.append(f"files: column chunks compressed with {codec}, not zstd")
    schemas = {}
    for file_name, name, type_name, converted, repetition in con.execute(
        f"SELECT file_name, name, type, converted_type, repetition_type FROM parquet_schema({listing})"
    ).fetchall():
        schemas.setdefault(file_name, []).append((name, type_name, converted, repetition))
    distinct = {}
    for file_name, schema in schemas.items():
        distinct.setdefault(tuple(schema), []).append(file_name)
    if len(distinct) > 1:
        variants = sorted(distinct.values(), key=len)
        problems.append(f"files: {len(distinct)} different schemas, e.g. {variants[0][0]} differs from {variants[-1][0]}")
    return problems


class DuckDB:
    name = "duckdb"

    def __init__(self, root):
        import duckdb

        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        glob = str(root / "*" / "*" / "*.parquet").replace("'", "''")
        self.con.execute(
            f"CREATE VIEW ocsf AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true, hive_types_autocast = false)"
        )
        self.day_of_time = "strftime(epoch_ms(time), '%Y-%m-%d')"
        self.not_json_object = "(NOT json_valid(unmapped) OR json_type(unmapped) <> 'OBJECT')"

    def sql(self, query):
        return self.con.execute(query).fetchall()

    def column_type(self, path):
        try:
            (type_name,) = self.con.execute(f"SELECT typeof({path}) FROM ocsf LIMIT 1").fetchone()
        except Exception as error:  # a binder error: the column does not exist
            return None, str(error).splitlines()[0]
        if type_name.startswith("STRUCT"):
            return "struct", type_name
        if type_name.startswith("MAP"):
            return "map", type_name
        return {"BIGINT": "int64", "INTEGER": "int32", "VARCHAR": "string"}.get(type_name, type_name), type_name

    def close(self):
        self.con.close()


class Spark:
    name = "spark"

    def __init__(self, root):
        import warnings

        # pyspark warns that it prefers pandas < 3 (installed for Timesketch); no pandas is used here.
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
        import os

        from pyspark.sql import SparkSession

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode: no network lookups

        started = time.perf_counter()
        self.spark = (
            SparkSession.builder.master("local[2]")
            .appName("tideline-check-parquet")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.session.timeZone", "UTC")
            # account=012345678901 stays the string it is (inference would make it a number).
            .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
            .config("spark.driver.memory", "1g")
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")
        self.startup_seconds = time.perf_counter() - started
        self.frame = self.spark.read.parquet(str(root))
        self.frame.createOrReplaceTempView("ocsf")
        self.day_of_time = "date_format(timestamp_millis(time), 'yyyy-MM-dd')"
        self.not_json_object = "json_object_keys(unmapped) IS NULL"

    def sql(self, query):
        return [tuple(row) for row in self.spark.sql(query).collect()]

    def column_type(self, path):
        from pyspark.sql import types

        field_type = self.frame.schema
        for part in path.split("."):
            if not isinstance(field_type, types.StructType) or part not in field_type.names:
                return None, f"no column {path}"
            field_type = field_type[part].dataType
        simple = field_type.simpleString()
        if isinstance(field_type, types.StructType):
            return "struct", simple
        if isinstance(field_type, types.MapType):
            return "map", simple
        return {"bigint": "int64", "int": "int32", "string": "string"}.get(simple, simple), simple

    def close(self):
        self.spark.stop()


def _compare(label, expected, actual, problems):
    if not isinstance(expected, dict):
        problems.append(f"expected: {label} is missing from EXPECTED_JSON (or not an object)")
        return
    for key in sorted(set(expected) | set(actual), key=str):
        want, got = expected.get(key, 0), actual.get(key, 0)
        if want != got:
            problems.append(f"counts: {label}[{key}]: {got} rows in the Parquet, {want} in EXPECTED_JSON")


def table_problems(engine, expected):
    problems = []
    types = {}
    for path, accepted in COLUMNS.items():
        kind, shown = engine.column_type(path)
        types[path] = kind
        if kind is None:
            problems.append(f"columns: {path} is missing ({shown})")
        elif kind not in accepted:
            problems.append(f"columns: {path} is {shown}, expected {' or '.join(sorted(accepted))}")
    if problems:
        return problems  # the queries below need these columns

    # Two queries in all (each is a Spark job): row-level facts, then the counts by partition
    # and change, summed here.
    unmapped_check = (f"sum(CASE WHEN unmapped IS NOT NULL AND {engine.not_json_object} THEN 1 ELSE 0 END)"
                      if types["unmapped"] == "string" else "0")
    ((rows, uids, bad_version, bad_day, bad_account, not_objects),) = engine.sql(
        # An event is its (source, id), as in CloudEvents (`metadata.log_provider` is the source).
        f"""SELECT count(*),
                   count(DISTINCT concat(CAST(length(coalesce(metadata.log_provider, '')) AS STRING), ':',
                                         coalesce(metadata.log_provider, ''), metadata.uid)),
                   sum(CASE WHEN metadata.version = '1.1.0' THEN 0 ELSE 1 END),
                   sum(CASE WHEN {engine.day_of_time} = date THEN 0 ELSE 1 END),
                   sum(CASE WHEN cloud.account.uid IS NULL OR cloud.account.uid = account THEN 0 ELSE 1 END),
                   {unmapped_check}
            FROM ocsf"""
    )
    if rows != expected.get("events"):
        problems.append(f"counts: {rows} rows in the Parquet, events = {expected.get('events')!r} in EXPECTED_JSON")
    if uids != rows:
        problems.append(f"rows: {rows - uids} rows repeat a (metadata.log_provider, metadata.uid) (or lack one)")
    if bad_version:
        problems.append(f"rows: {bad_version} rows have a metadata.version other than 1.1.0")
    if bad_day:
        problems.append(f"rows: {bad_day} rows sit in a date= partition other than the UTC date of their time")
    if bad_account:
        problems.append(f"rows: {bad_account} rows sit in an account= partition other than their cloud.account.uid")
    if not_objects:
        problems.append(f"rows: {not_objects} rows have an unmapped string that is not a JSON object")

    changes = {name: 0 for name in CHANGES.values()}
    by_account, by_date = {}, {}
    for account, date, class_uid, activity_id, status_id, n in engine.sql(
        "SELECT account, date, class_uid, activity_id, status_id, count(*) FROM ocsf "
        "GROUP BY account, date, class_uid, activity_id, status_id"
    ):
        # Hive's __HIVE_DEFAULT_PARTITION__ (no account) reads as NULL; `info --json` counts
        # events without an account under "".
        account = "" if account is None else account
        by_account[account] = by_account.get(account, 0) + n
        by_date[date] = by_date.get(date, 0) + n
        if class_uid == 6003 and activity_id in CHANGES and status_id == 1:
            changes[CHANGES[activity_id]] += n
    _compare("by_change", expected.get("by_change"), changes, problems)
    _compare("by_account", expected.get("by_account"), by_account, problems)
    _compare("by_date", expected.get("by_date"), by_date, problems)
    return problems


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--engine", choices=["spark", "duckdb"], required=True)
    parser.add_argument("parquet_dir", type=pathlib.Path)
    parser.add_argument("expected_json", type=pathlib.Path)
    args = parser.parse_args(argv)
    expected = json.loads(args.expected_json.read_text())

    started = time.perf_counter()
    problems, files = layout_problems(args.parquet_dir)
    if files:
        problems += file_problems(files)
        engine = (Spark if args.engine == "spark" else DuckDB)(args.parquet_dir)
        try:
            problems += table_problems(engine, expected)
        finally:
            engine.close()
    for problem in problems:
        print(f"check_parquet: {args.engine}: {problem}", file=sys.stderr)
    if problems:
        print(f"check_parquet: {args.engine}: FAILED ({len(problems)} problems)", file=sys.stderr)
        return 1
    startup = f", Spark started in {engine.startup_seconds:.1f} s" if args.engine == "spark" else ""
    print(f"check_parquet: {args.engine}: {expected['events']} rows in {len(files)} files match "
          f"(by_change, by_account, by_date) in {time.perf_counter() - started:.1f} s{startup}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
