"""`python -m services.intake serve|migrate|rebuild|verify|token|schemas`."""

from services.intake.app import build, definition
from shared.cli import make_cli

make_cli(definition, build)()
