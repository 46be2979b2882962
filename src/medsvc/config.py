"""Settings read from the environment (prefix MEDSVC_), and where shipped data files live."""

import logging
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

DATABASE_URLS = "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"


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
    # Request cost (docs/fhir-api.md#limits): what one body and one search may hold, checked
    # right after parsing, before validation and before a writer is taken; beyond, 413 or 400.
    # Nesting of objects and arrays: deeper JSON only costs the parser and the models' stack.
    max_json_depth: int = Field(default=64, gt=0)
    # Items of any one array (Patient.name); one resource's arrays rarely hold dozens.
    max_array_items: int = Field(default=1000, gt=0)
    # Per-element overrides where a type needs more: "Observation.component=5000,...".
    array_item_overrides: str = ""
    # Entries of a transaction or batch Bundle: each runs in the one unit of work.
    max_bundle_entries: int = Field(default=1000, gt=0)
    # Characters of one string; base64 data (Binary.data, Attachment.data) is bounded only
    # by the body's size.
    max_string_chars: int = Field(default=1_048_576, gt=0)
    # JSON values (objects, arrays, strings, numbers, booleans) in one resource, its
    # contained ones included: storing a Patient of 20,000 names' parts takes ~3 s on SQLite,
    # most of it in its search index rows, all of it holding the one writer.
    max_resource_elements: int = Field(default=20_000, gt=0)
    # JSON values in one body, a Bundle's or a Parameters' resources together: 1000 Slots,
    # or 500 Observations of a lab's push, fit.
    max_body_elements: int = Field(default=100_000, gt=0)
    # Values ORed in one search parameter, and parameters in one search (each chain link
    # and _include counted): each is a condition of the one SQL statement.
    max_search_values: int = Field(default=100, gt=0)
    max_search_params: int = Field(default=50, gt=0)
    # Characters in one search parameter's value (a form body's can be as long as the body).
    max_search_value_chars: int = Field(default=65_536, gt=0)
    # HTTP limits of `medsvc serve`, per process (docs/operations.md#http-limits): no one
    # connection may hold the server's memory or its connections, with or without a proxy.
    # Bytes of a request line and its headers together; beyond, 431. A token and a long
    # search URL fit several times over.
    http_max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    # Headers in one request; beyond, 431.
    http_max_headers: int = Field(default=100, gt=0)
    # Seconds a client has to send a request line and headers, counted from the connection's
    # opening or, on a kept-alive connection, from the request's first byte; beyond, 408.
    http_header_timeout_seconds: float = Field(default=10, gt=0)
    # Seconds a request body may pause between two reads; beyond, 408.
    http_body_timeout_seconds: float = Field(default=30, gt=0)
    # Seconds an idle connection is kept open after a response for the client's next request.
    http_keep_alive_seconds: int = Field(default=5, gt=0)
    # Connections a process serves at once; beyond, a new connection gets 503 and is closed.
    http_max_connections: int = Field(default=1000, gt=0)

    # The care relationship (docs/security.md).
    # Days a practitioner keeps seeing a patient after their appointment's start: results
    # come days after the visit. At least 1, so the visit itself is always inside it.
    care_days_after: int = Field(default=30, ge=1, le=3650)
    # Minutes a practitioner's break-glass access to a patient lasts before they must assert
    # it again.
    break_glass_minutes: int = Field(default=60, ge=1, le=24 * 60)

    # Sign-in throttling (docs/security.md), kept in the database for every process. Failed
    # sign-ins one address may make for one username, and for all usernames together (a
    # credential-stuffing list), before each further failure doubles the wait (1 s, 2 s, ...).
    signin_free_failures: int = Field(default=5, gt=0)
    signin_address_free_failures: int = Field(default=20, gt=0)
    # The longest wait one failure can set, in seconds: every lock expires within it.
    signin_max_wait_seconds: int = Field(default=900, gt=0, le=3600)

    # Citizens' sign-up and identity (docs/identity.md).
    # The verification provider that decides whether a name and a document belong together:
    # "module:attribute" of the city's provider; unset, the format is checked and nothing more.
    identity_provider: str = ""
    # The identifier system of resident identity numbers in Patient.identifier: the one the
    # city's hospitals use, so a sign-up finds the Patient they registered.
    resident_id_system: str = "urn:medsvc:identifier:cn-resident-id"
    # One-time codes each mobile number, each address and each identity may ask for an hour.
    codes_per_phone_per_hour: int = Field(default=5, gt=0)
    codes_per_address_per_hour: int = Field(default=20, gt=0)
    codes_per_identity_per_hour: int = Field(default=5, gt=0)
    # For a local trial without an SMS gateway: one-time codes are written to the log.
    phone_codes_to_log: bool = False

    # "Sign in with" another service (docs/identity.md): an OpenID Connect provider the city
    # trusts, such as a government or messaging app's. Unset issuer: no such sign-in.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid"
    # The id_token claim that names the person at the provider, for good (OIDC Core 2: sub).
    oidc_subject_claim: str = "sub"
    # The provider's name on the sign-in page's button ("Sign in with …").
    oidc_display_name: str = ""

    # Proxies (docs/identity.md#family-proxies): a parent's or guardian's proxy for a child
    # ends on the child's birthday of this age (PIPL Art. 31: minors under 14 are their
    # guardians' to consent for).
    proxy_child_age: int = Field(default=14, ge=1, le=18)
    # Result categories kept from a child's guardians from an age of the child, as
    # `category=age` (results/guardians.py): "urn:example:category|sexual-health=12".
    guardian_withheld_results: str = ""

    @field_validator("database_url")
    @classmethod
    def usable_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
            dialect = url.get_dialect()
            dialect.import_dbapi()
        except (ArgumentError, NoSuchModuleError, ImportError, ValueError):
            # The URL itself is not repeated: it may carry a password.
            raise ValueError(f"not a database URL this service can use ({DATABASE_URLS})") from None
        if url.get_backend_name() not in ("sqlite", "postgresql") or dialect.is_async:
            raise ValueError(f"not a database this service runs on ({DATABASE_URLS})")
        return value

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (Europe/Helsinki)") from None
        return value

    @field_validator("log_level")
    @classmethod
    def known_log_level(cls, value: str) -> str:
        if value.upper() not in logging.getLevelNamesMapping():
            raise ValueError(f"{value!r} is not a log level (DEBUG, INFO, WARNING, ERROR)")
        return value.upper()

    @field_validator("base_url")
    @classmethod
    def http_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("the FHIR base must be an http:// or https:// URL")
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


class ConfigurationError(ValueError):
    """The settings describe a deployment the service refuses to run."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def settings_problem(error: ValidationError) -> str:
    """One line naming each refused setting as the operator set it (its values left out:
    the database URL may carry a password)."""
    return "; ".join(
        f"MEDSVC_{str(problem['loc'][0]).upper()}: {problem['msg']}"
        if problem["loc"]
        else f"settings: {problem['msg']}"
        for problem in error.errors()
    )
