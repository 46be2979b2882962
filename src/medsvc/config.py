"""Settings read from the environment (prefix MEDSVC_), and where shipped data files live."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDSVC_", extra="ignore")

    # Embedded default: one SQLite file in ./var; production uses postgresql+psycopg://.
    database_url: str = "sqlite:///./var/medsvc.db"
    # The public FHIR base: every Location header and Bundle link is built on it.
    base_url: str = "http://127.0.0.1:8000/fhir"
    # "smart": every FHIR request needs a token this server issued. "open", for a local trial
    # only, lets every caller act as the platform; refused unless loopback host and SQLite.
    auth_mode: Literal["open", "smart"] = "smart"
    # Key material kept outside the database: token-signing keys under signing/ (mode 0600).
    keys_dir: Path = Path("./var/keys")
    # Key-encryption keys that wrap the patients' data keys, and the blind index key. Unset:
    # keys_dir/kek. Keep it off the database's disk and out of its backups.
    kek_dir: Path | None = None
    # For benchmarks and tests only: results stored unsealed (indexed as when sealed), so that
    # a benchmark can measure what sealing costs beside the same endpoint. Never in service.
    unsealed_results_for_benchmarks: bool = False
    # Token, revocation, introspection and sign-in requests per caller address and minute, per
    # process (a burst of a quarter of it is allowed at once); beyond it, 429.
    token_requests_per_minute: int = Field(default=120, gt=0)
    # Audit records of reads that may wait for the background writer; beyond, reads wait too.
    audit_max_backlog: int = Field(default=2_000, ge=0)
    # Requests larger than this are refused with 413 before they are parsed. The default
    # carries a 20 MB report PDF in a lab's Bundle (base64 adds a third).
    max_body_bytes: int = Field(default=28 * 1024 * 1024, gt=0)
    # Page size when a search gives no _count, and the most a client may ask for.
    default_page_size: int = Field(default=20, gt=0)
    max_page_size: int = Field(default=1000, gt=0)
    # Readers on SQLite run concurrently; writers share one connection (see db.py).
    sqlite_reader_pool_size: int = Field(default=8, gt=0)
    # Threads per process that run reads and writes. Python threads share one interpreter
    # lock, so a few busy threads serve more requests than many contending ones; writers on
    # SQLite are serialised anyway. Unset: 2 and 1 on SQLite, 4 and 4 on PostgreSQL.
    read_threads: int | None = Field(default=None, gt=0)
    write_threads: int | None = Field(default=None, gt=0)
    # PostgreSQL connections per process: one per reader and writer thread, so that no
    # request waits for a connection and none is opened and closed per request.
    pool_size: int = Field(default=16, gt=0)
    # Seconds a writer waits for its turn before the request fails with 503.
    write_wait_seconds: float = Field(default=30.0, gt=0)
    # Booking rules (docs/scheduling.md). A hold keeps a slot for this long before it is
    # released; citizens book no further ahead than the horizon, hold at most this many
    # active bookings per service, and cancel no later than the cut-off before the start.
    hold_minutes: float = Field(default=10, gt=0)
    booking_horizon_days: int = Field(default=90, gt=0)
    max_active_bookings_per_service: int = Field(default=2, gt=0)
    citizen_cancel_cutoff_hours: float = Field(default=24, ge=0)
    # How far ahead schedule templates are materialised as Slots by the templates job.
    template_horizon_days: int = Field(default=30, gt=0)
    # The city's time zone (IANA name): schedule templates give days and hours in it, and
    # messages to citizens show times in it.
    timezone: str = "UTC"
    # Hours before the start at which reminders are sent, as a comma-separated list.
    reminder_hours: str = "24,2"
    # "in-process": the API process runs the periodic jobs (the embedded default);
    # "off": a separate `medsvc worker` runs them (production with several API processes).
    jobs: Literal["in-process", "off"] = "in-process"
    # Results become visible to their patients once final; true: once preliminary too.
    release_preliminary: bool = False
    # Per-category release rules where local law requires them (results/release_rules.py):
    # "PAT=review,GE=72h"; none by default.
    release_rules: str = ""
    # Subscriptions (docs/subscriptions.md). Hosts a rest-hook endpoint may use plain http on
    # (a receiver on this machine, comma-separated); every other endpoint is https.
    subscription_http_hosts: str = ""
    # How long a notification that is not accepted is retried (with exponential backoff)
    # before its subscription is set to error.
    subscription_retry_hours: float = Field(default=24, gt=0)
    # Seconds between the delivery job's runs when there is nothing to send.
    subscription_poll_seconds: float = Field(default=2, gt=0)
    # Seconds a delivering worker holds a subscription: no other worker sends for it meanwhile,
    # and one killed mid-send keeps it this long. A send waits at most half of it.
    subscription_lease_seconds: float = Field(default=90, ge=2)
    # Where citizens' notices also go, for an SMS or messaging gateway (docs/operations.md):
    # each is POSTed as signed JSON by the send-notices job. Unset: none is sent there.
    notify_webhook_url: str = ""
    # How long a notice the gateway does not take is retried before it is given up.
    notify_retry_hours: float = Field(default=24, gt=0)
    log_level: str = "INFO"
    # Sign-in throttling (docs/security.md), kept in the database for every process. Failed
    # sign-ins one address may make for one username, and for all usernames together (a
    # credential-stuffing list), before each further failure doubles the wait (1 s, 2 s, ...).
    signin_free_failures: int = Field(default=5, gt=0)
    signin_address_free_failures: int = Field(default=20, gt=0)
    # The longest wait one failure can set, in seconds: every lock expires within it.
    signin_max_wait_seconds: int = Field(default=900, gt=0, le=3600)

    @field_validator("base_url")
    @classmethod
    def strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def kek_directory(self) -> Path:
        return self.kek_dir or self.keys_dir / "kek"

    @property
    def thread_counts(self) -> tuple[int, int]:
        """Reader and writer threads per process."""
        reads, writes = (2, 1) if self.is_sqlite else (4, 4)
        return self.read_threads or reads, self.write_threads or writes


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def data_path(name: str) -> Path:
    """Finds a shipped data folder (fhir_profiles, migrations, alembic.ini).

    A source checkout keeps them at the repository root; an installed wheel carries them in
    medsvc/_data. The checkout wins so that edits take effect without reinstalling.
    """
    checkout = PACKAGE_DIR.parents[1] / name
    if checkout.exists() and (PACKAGE_DIR.parents[1] / "pyproject.toml").exists():
        return checkout
    return PACKAGE_DIR / "_data" / name
