"""Where the tests' vendored fixtures live, inside the repository."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIVETRAN_FIXTURES = FIXTURES / "fivetran"
