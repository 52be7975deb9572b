"""Sluice renderer for Traefik (file provider, dynamic configuration), in Python.

componentize-py turns this module into a `sluice:renderer@1.0.0` component:
the class named `Render` implements the `render` export.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log
from wit_world.imports.types import (
    OutputFile,
    PluginInfo,
    Reload_Command,
    RenderError_InvalidInput,
    RenderError_InvalidSettings,
    Severity,
)

import checks
import settings
import traefik
import yaml_out

DEFAULT_CONFIG = "/etc/traefik/dynamic/sluice.yml"

# Traefik's file provider (with `watch: true`) reloads the file by itself;
# the interface needs a reload, so it is a command that does nothing.
RELOAD = ["true"]

# No Traefik command validates a dynamic config; parsing it as YAML is the
# check that runs anywhere Python and PyYAML do (README: the schema check).
VALIDATE = [
    "python3",
    "-c",
    "import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert isinstance(d, dict)",
    "{config}",
]


class Render(exports.Render):
    def info(self) -> PluginInfo:
        return PluginInfo(
            name="traefik-py",
            version="0.1.0",
            proxy="traefik",
            default_config_path=DEFAULT_CONFIG,
            validate_command=VALIDATE,
            reload=Reload_Command(RELOAD),
        )

    def validate_settings(self, items):
        return settings.validate(items)

    def render(self, input):
        diags = settings.validate(input.cluster.settings)
        if any(d.severity == Severity.ERROR for d in diags):
            raise Err(RenderError_InvalidSettings(diags))
        problems = checks.check_input(input)
        if problems:
            raise Err(RenderError_InvalidInput(problems))
        doc, warnings = traefik.dynamic_config(input, settings.read(input.cluster.settings))
        for w in warnings:
            log.log(log.Level.WARN, w)
        text = "# Rendered by Sluice's traefik-py plugin; do not edit.\n" + yaml_out.dump(doc)
        return [OutputFile(path=input.cluster.config_path, contents=text)]
