"""`python -m services.casework serve|migrate|rebuild|verify|token|schemas`."""

from services.casework.app import build, definition
from shared.cli import make_cli

make_cli(definition, build)()
