"""`python -m services.placement serve|migrate|rebuild|verify|token|schemas`."""

from services.placement.app import build, definition
from shared.cli import make_cli

make_cli(definition, build)()
