"""The `homeward` command's entry point: the CLI, imported with the cyclic collector paused.

Importing the application makes hundreds of thousands of objects (models, routes, schemas),
none of them garbage, and the collector's passes over a growing heap were about a tenth of
the import's CPU (issue 14: every command, and every server start, pays it). Paused for the
import only, then back on for whatever the command does.
"""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    try:
        from api.cli import app
    finally:
        gc.enable()
    app()
