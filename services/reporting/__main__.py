"""`python -m services.reporting serve|migrate|rebuild|verify|token|schemas`."""

from services.reporting.app import build, definition
from shared.cli import make_cli

if __name__ == "__main__":  # not on import (a parallel rebuild's spawned workers import it)
    make_cli(definition, build)()
