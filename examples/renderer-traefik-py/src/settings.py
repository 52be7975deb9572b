"""The [Extensions.NAME.Config] keys this plugin reads."""

import re

from wit_world.imports.types import (
    Diagnostic,
    SettingValue_Boolean,
    SettingValue_Float,
    SettingValue_Integer,
    SettingValue_Text,
    SettingValue_TextList,
    Severity,
)

_IDENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# key -> (type, default)
KEYS = {
    "EntryPointHTTP": (SettingValue_Text, "web"),
    "EntryPointHTTPS": (SettingValue_Text, "websecure"),
    "PassHostHeader": (SettingValue_Boolean, True),
}

_TYPE_NAMES = {
    SettingValue_Text: "a string",
    SettingValue_Integer: "an integer",
    SettingValue_Float: "a float",
    SettingValue_Boolean: "a boolean",
    SettingValue_TextList: "a list of strings",
}


def _find(key):
    for k in KEYS:
        if k.lower() == key.lower():
            return k
    return None


def validate(items):
    """Unknown keys warn; wrong types and bad values are errors naming the key."""
    out = []
    for s in items:
        name = _find(s.key)
        if name is None:
            out.append(Diagnostic(Severity.WARNING, s.key, f"unknown key `{s.key}`, ignored"))
            continue
        want = KEYS[name][0]
        if not isinstance(s.value, want):
            found = _TYPE_NAMES.get(type(s.value), "something else")
            out.append(Diagnostic(Severity.ERROR, s.key, f"`{name}` must be {_TYPE_NAMES[want]}, found {found}"))
            continue
        if want is SettingValue_Text and not _IDENT.match(s.value.value):
            out.append(Diagnostic(Severity.ERROR, s.key, f"`{name}` must be an entry point name ([A-Za-z0-9_-]), found {s.value.value!r}"))
    return out


def read(items):
    """Validated settings with defaults, by canonical key."""
    values = {k: d for k, (_, d) in KEYS.items()}
    for s in items:
        name = _find(s.key)
        if name is not None and isinstance(s.value, KEYS[name][0]):
            values[name] = s.value.value
    return values
