#!/usr/bin/env python3
"""Checks a rendered Traefik dynamic config: it parses as YAML (PyYAML) and
matches schema.json (jsonschema), a hand-written subset of Traefik v2/v3's
file-provider schema covering what this plugin writes; every router's
service and middlewares must exist. Usage: check_dynamic.py FILE..."""

import json
import pathlib
import sys

import jsonschema
import yaml

SCHEMA = json.loads((pathlib.Path(__file__).parent / "schema.json").read_text())


def check(path):
    doc = yaml.safe_load(pathlib.Path(path).read_text())
    jsonschema.validate(doc, SCHEMA)
    http = doc.get("http", {})
    services = http.get("services", {})
    middlewares = http.get("middlewares", {})
    for name, r in http.get("routers", {}).items():
        if r["service"] not in services and not r["service"].endswith("@internal"):
            raise ValueError(f"router {name}: unknown service {r['service']}")
        for m in r.get("middlewares", []):
            if m not in middlewares:
                raise ValueError(f"router {name}: unknown middleware {m}")
    tcp = doc.get("tcp", {})
    for name, r in tcp.get("routers", {}).items():
        if r["service"] not in tcp.get("services", {}):
            raise ValueError(f"tcp router {name}: unknown service {r['service']}")


if __name__ == "__main__":
    failed = False
    for p in sys.argv[1:]:
        try:
            check(p)
            print(f"ok {p}")
        except Exception as e:  # report every file, then fail
            print(f"FAIL {p}: {e}")
            failed = True
    sys.exit(1 if failed else 0)
