"""`python -m services.reporting serve|migrate|rebuild|verify|token|schemas`."""

from services.reporting.app import build, definition
from shared.cli import make_cli

make_cli(definition, build)()
