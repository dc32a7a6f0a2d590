"""Where things are, inside the repository: the tests read nothing from outside it."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
FIVETRAN_FIXTURES = FIXTURES / "fivetran"
