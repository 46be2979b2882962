"""Where the service's files are: the data folders it ships, and a SQLite database's folder."""

from pathlib import Path

from sqlalchemy.engine import make_url

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def data_path(name: str) -> Path:
    """Finds a shipped data folder (fhir_profiles, migrations, alembic.ini).

    A source checkout keeps them at the repository root; an installed wheel carries them in
    medsvc/_data. The checkout wins so that edits take effect without reinstalling.
    """
    checkout = PACKAGE_DIR.parents[1] / name
    if checkout.exists() and (PACKAGE_DIR.parents[1] / "pyproject.toml").exists():
        return checkout
    return PACKAGE_DIR / "_data" / name


def ensure_sqlite_directory(url: str) -> None:
    """Creates the folder of a SQLite database file (./var for the embedded default)."""
    if not url.startswith("sqlite"):
        return
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
