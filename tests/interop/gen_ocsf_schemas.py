#!/usr/bin/env python3
"""Generates (or checks) the OCSF 1.1.0 JSON Schemas that check_ocsf.py validates against.

    python tests/interop/gen_ocsf_schemas.py generate OCSF_SCHEMA_TREE [OUT_DIR]
    python tests/interop/gen_ocsf_schemas.py check [OUT_DIR]

`generate` compiles the official schema repository (ocsf/ocsf-schema, a tree of tag v1.1.0) with
the OCSF project's own compiler (PyPI `ocsf-lib`), turns each class Tideline exports into a JSON
Schema (draft 2020-12, every referenced object embedded under $defs, `additionalProperties: false`
on every object but `unmapped`) with PyPI `ocsf-json-schema`, and refuses to write anything
unless the result is identical to the schema derived the second, independent way: from the
schema server's own export of 1.1.0 that `ocsf-json-schema` ships. `check` (no network, no
schema tree) re-derives the second way and fails if the committed files differ.

The profiles are `cloud` and `datetime`: the ones base_event offers that a cloud audit event can
use (`cloud` is required under the cloud profile; `*_dt` attributes come from `datetime`).
"""
import json
import pathlib
import sys

from ocsf.compile.compiler import Compilation
from ocsf.compile.options import CompilationOptions
from ocsf.repository import read_repo
from ocsf.schema import to_dict
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

VERSION = "1.1.0"
CLASSES = {6003: "api_activity", 3002: "authentication"}
PROFILES = ["cloud", "datetime"]
DEFAULT_OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "ocsf" / VERSION


def compile_repo(tree):
    """The repository compiled by ocsf-lib, in the schema server's export shape."""
    options = CompilationOptions()
    options.ignore_extensions = ["linux", "windows"]  # core schema only; Tideline uses none
    options.map_events_to_categories = False
    compiled = _drop_nulls(to_dict(Compilation(read_repo(tree), options).build()))
    raw = _RawFiles(tree)
    objects = set(compiled["objects"])
    for kind in ("classes", "objects"):
        for name, item in compiled[kind].items():
            direct = raw.direct_attributes(kind, name)
            # ocsf-lib lets the farthest ancestor's constraints win (device got _entity's
            # name/uid instead of endpoint's list); the nearest definition is the one in force.
            constraints = raw.nearest_constraints(kind, name)
            if constraints is not None:
                item["constraints"] = constraints
            for attr_name, attr in item.get("attributes", {}).items():
                # ocsf-lib 0.10.4 leaves object references as their bare name (its object-type
                # pass never fires); the server export says object_t + object_type.
                if attr.get("type") in objects:
                    attr["object_type"] = attr["type"]
                    attr["type"] = "object_t"
                # ocsf-lib marks every attribute whose name a profile also defines as belonging
                # to that profile; the server keeps the mark only when the attribute comes from
                # the profile alone (e.g. api_activity's own required `api` is not "cloud").
                if attr.get("profile") and attr_name in direct and not direct[attr_name].get("profile"):
                    del attr["profile"]
    return compiled


class _RawFiles:
    """The repository's files as written: which attributes a class or object defines itself."""

    def __init__(self, tree):
        self.tree = pathlib.Path(tree)
        self.by_name = {"classes": {}, "objects": {}}
        for kind, folder in (("classes", "events"), ("objects", "objects")):
            for path in (self.tree / folder).rglob("*.json"):
                data = json.loads(path.read_text())
                if "name" in data:
                    self.by_name[kind][data["name"]] = data

    def nearest_constraints(self, kind, name):
        data = self.by_name[kind].get(name)
        while data is not None:
            if "constraints" in data:
                return data["constraints"]
            data = self.by_name[kind].get(data.get("extends"))
        return None

    def direct_attributes(self, kind, name):
        """Attributes defined in the item's file, its `extends` ancestors and their non-profile includes."""
        found = {}
        data = self.by_name[kind].get(name)
        while data is not None:
            attributes = data.get("attributes", {})
            for include in attributes.get("$include", []):
                if not include.startswith("profiles/"):
                    for key, value in json.loads((self.tree / include).read_text())["attributes"].items():
                        found.setdefault(key, value)
            for key, value in attributes.items():
                if key != "$include":
                    found.setdefault(key, value)
            data = self.by_name[kind].get(data.get("extends"))
        return found


def _drop_nulls(value):
    # ocsf-lib writes absent keys as null (e.g. "@deprecated": null, which ocsf-json-schema
    # would read as "deprecated"); the server export leaves them out.
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def class_schemas(export):
    generator = OcsfJsonSchemaEmbedded(export)
    schemas = {name: generator.get_class_schema(name, PROFILES) for name in CLASSES.values()}
    schemas["siblings"] = siblings(export)
    return schemas


def siblings(export):
    """For each class, its enum attributes' caption siblings: {"activity_id": {"sibling":
    "activity_name", "captions": {"1": "Create", ...}}}. JSON Schema cannot say that
    activity_name must be the caption of activity_id, so check_ocsf.py checks it from this."""
    found = {}
    for name in CLASSES.values():
        attributes = export["classes"][name]["attributes"]
        found[name] = {
            attr_name: {
                "sibling": attr["sibling"],
                "captions": {key: value["caption"] for key, value in attr["enum"].items()},
            }
            for attr_name, attr in sorted(attributes.items())
            if attr.get("enum") and attr.get("sibling") and not attr.get("profile")
        }
    return found


def _strip_text(value):
    """The schema without titles: the two derivations may word captions differently."""
    if isinstance(value, dict):
        return {k: _strip_text(v) for k, v in value.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(value, list):
        return [_strip_text(v) for v in value]
    return value


def _first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a)[:200]} vs {json.dumps(b)[:200]}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'the first' if key in a else 'the second'}"
            found = _first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if sorted(map(json.dumps, a)) != sorted(map(json.dumps, b)):
            return f"{path}: {json.dumps(a)[:200]} vs {json.dumps(b)[:200]}"
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


def schema_path(out_dir, name):
    return pathlib.Path(out_dir) / (f"{name}.json" if name == "siblings" else f"{name}.schema.json")


def write_schema(path, schema):
    path.write_text(json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def main(argv):
    if len(argv) >= 2 and argv[0] == "generate":
        out_dir = pathlib.Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
        from_repo = class_schemas(compile_repo(argv[1]))
        from_server = class_schemas(get_ocsf_schema(VERSION))
        failed = False
        for name in [*CLASSES.values(), "siblings"]:
            difference = _first_difference(_strip_text(from_repo[name]), _strip_text(from_server[name]))
            if difference:
                print(f"gen_ocsf_schemas: {name}: repository and server export disagree at {difference}")
                failed = True
        if failed:
            return 1
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, schema in from_repo.items():
            write_schema(schema_path(out_dir, name), schema)
            print(f"gen_ocsf_schemas: wrote {schema_path(out_dir, name)}")
        return 0
    if len(argv) >= 1 and argv[0] == "check":
        out_dir = pathlib.Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
        from_server = class_schemas(get_ocsf_schema(VERSION))
        failed = False
        for name in [*CLASSES.values(), "siblings"]:
            committed = json.loads(schema_path(out_dir, name).read_text())
            difference = _first_difference(_strip_text(committed), _strip_text(from_server[name]))
            if difference:
                print(f"gen_ocsf_schemas: {schema_path(out_dir, name)} differs from the 1.1.0 export at {difference}")
                failed = True
        if not failed:
            print(f"gen_ocsf_schemas: {', '.join(CLASSES.values())} and siblings match the OCSF {VERSION} export")
        return 1 if failed else 0
    print("usage:\n" + "\n".join(__doc__.strip().splitlines()[2:4]), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
