"""A small YAML emitter: block mappings and sequences, every string
double-quoted JSON-style (a JSON string is a valid YAML double-quoted
scalar), so no value can end its scalar or start a new key."""

import json
import re

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=True)
    raise TypeError(f"cannot emit {type(v).__name__}")


def _key(k):
    return k if _PLAIN_KEY.match(k) else json.dumps(k, ensure_ascii=True)


def _emit(v, indent, out):
    pad = "  " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                out.append(f"{pad}{_key(k)}:")
                _emit(x, indent + 1, out)
            else:
                out.append(f"{pad}{_key(k)}: {_inline(x)}")
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, dict) and x:
                inner = []
                _emit(x, indent + 1, inner)
                first = inner[0].lstrip()
                out.append(f"{pad}- {first}")
                out.extend(inner[1:])
            elif isinstance(x, list) and x:
                out.append(f"{pad}-")
                _emit(x, indent + 1, out)
            else:
                out.append(f"{pad}- {_inline(x)}")


def _inline(v):
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _scalar(v)


def dump(doc):
    out = []
    _emit(doc, 0, out)
    return "\n".join(out) + "\n"
