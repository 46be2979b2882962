"""create_app(settings): routes, error handlers, lifespan and explicit domain registration."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc
from starlette.exceptions import HTTPException

from medsvc import jobs
from medsvc.access import break_glass
from medsvc.access.install import install as install_access
from medsvc.access.organizations import DIRECTORY
from medsvc.audit.install import install as install_audit
from medsvc.config import ConfigurationError as ConfigurationError  # raised by create_app
from medsvc.config import Settings, get_settings
from medsvc.crypto import blind_index
from medsvc.crypto.keyring import FileKeyring
from medsvc.db import Database, violated_constraint
from medsvc.errors import (
    Conflict,
    Invalid,
    Issue,
    MedsvcError,
    MethodNotAllowed,
    NotFound,
    Unavailable,
    operation_outcome,
)
from medsvc.fhir import jsonio
from medsvc.fhir.definitions import get_definitions
from medsvc.fhir.limits import limits_from
from medsvc.fhir.operations import everything, validate
from medsvc.fhir.registry import Registry
from medsvc.fhir.routes import CONTENT_TYPE
from medsvc.fhir.routes import ROUTES as FHIR_ROUTES
from medsvc.fhir.server import FhirServer
from medsvc.kit import heap, migrate
from medsvc.kit.executors import make_executors
from medsvc.kit.requestlog import RequestLogMiddleware, configure_logging
from medsvc.results import protection
from medsvc.results.at_rest import ResultSealer
from medsvc.results.install import install as install_results
from medsvc.results.release_rules import parse_rules
from medsvc.scheduling.bulk_publish import ROUTES as PUBLISH_ROUTES
from medsvc.scheduling.install import install as install_scheduling
from medsvc.scheduling.reminders import reminder_hours
from medsvc.security import oauth
from medsvc.security.context import open_mode_refusal
from medsvc.security.ratelimit import RateLimiter
from medsvc.security.revocation import RevokedTokens
from medsvc.security.routes import ROUTES as SECURITY_ROUTES
from medsvc.security.signin_routes import ROUTES as SIGNIN_ROUTES
from medsvc.security.signing import SigningKeys
from medsvc.security.tokens import Issuer, TokenService
from medsvc.subscriptions.install import install as install_subscriptions
from medsvc.subscriptions.routes import ROUTES as SUBSCRIPTION_ROUTES

log = logging.getLogger("medsvc.app")


CONSTRAINT_MESSAGES = {
    "uq_resource_resource_type_id": "A resource with this id was created at the same time",
    "uq_resource_version_resource_pk_version_id": "The resource was changed at the same time",
}


def outcome_response(error: MedsvcError) -> Response:
    return Response(
        jsonio.dumps(error.outcome()),
        status_code=error.status,
        media_type=CONTENT_TYPE,
        headers=error.headers,
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MedsvcError)
    def medsvc_error(_request: Request, error: MedsvcError) -> Response:
        return outcome_response(error)

    @app.exception_handler(RequestValidationError)
    def request_invalid(_request: Request, error: RequestValidationError) -> Response:
        return outcome_response(Invalid(f"The request is not valid: {error.errors()}"))

    @app.exception_handler(HTTPException)
    def http_error(_request: Request, error: HTTPException) -> Response:
        if error.status_code == 404:
            return outcome_response(NotFound("No such path"))
        if error.status_code == 405:
            return outcome_response(MethodNotAllowed("The method is not allowed on this path"))
        outcome = operation_outcome([Issue(str(error.detail), "processing")])
        return Response(
            jsonio.dumps(outcome),
            status_code=error.status_code,
            media_type=CONTENT_TYPE,
            headers=dict(error.headers or {}),
        )

    @app.exception_handler(exc.IntegrityError)
    def integrity_error(_request: Request, error: exc.IntegrityError) -> Response:
        name = violated_constraint(error)
        return outcome_response(
            Conflict(CONSTRAINT_MESSAGES.get(name or "", "A concurrent change conflicted; retry"))
        )

    @app.exception_handler(exc.DataError)
    def data_error(_request: Request, error: exc.DataError) -> Response:
        log.warning("value refused by the database", exc_info=error)
        return outcome_response(Invalid("The request holds a value the database cannot store"))

    @app.exception_handler(exc.OperationalError)
    def database_busy(_request: Request, error: exc.OperationalError) -> Response:
        log.warning("database error", exc_info=error)
        return outcome_response(Unavailable("The database is unavailable; retry shortly"))


def _install_health(app: FastAPI, database: Database) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        try:
            with database.session(write=False) as connection:
                current = migrate.current_revision(connection)
        except exc.SQLAlchemyError:
            return Response(
                b'{"status":"database unreachable"}', status_code=503, media_type="application/json"
            )
        if current != migrate.head_revision():
            return Response(
                b'{"status":"migrations pending"}', status_code=503, media_type="application/json"
            )
        return Response(b'{"status":"ready"}', media_type="application/json")


def check_settings(settings: Settings) -> None:
    """Refuses, naming the setting, what the domains would otherwise find wrong only once
    running: the service does not start on settings its jobs or hooks cannot use."""
    parsed_by_domains: dict[str, Callable[[], object]] = {
        "reminder_hours": lambda: reminder_hours(settings.reminder_hours),
        "release_rules": lambda: parse_rules(settings.release_rules, settings.release_preliminary),
    }
    for field, parse in parsed_by_domains.items():
        try:
            parse()
        except ValueError as error:
            problem = str(error).removeprefix(f"{field}: ")
            raise ConfigurationError(f"MEDSVC_{field.upper()}: {problem}") from None


def fhir_server(settings: Settings) -> FhirServer:
    """The FHIR layer with every domain registered: the one place domains are plugged in.
    It seals and opens the results with the results' sealer."""
    check_settings(settings)
    index = blind_index.load_or_create(settings.kek_directory)
    sealed = not settings.unsealed_results_for_benchmarks
    definitions = protection.apply(get_definitions(), index, sealed=sealed)
    registry = Registry()
    registry.add_operation(validate.operation(definitions))
    registry.add_operation(everything.operation(definitions))
    sealer = ResultSealer(FileKeyring(settings.kek_directory), settings.base_url)
    server = FhirServer(
        settings.base_url,
        definitions,
        registry,
        settings.default_page_size,
        settings.max_page_size,
        limits_from(settings),
        sealer if sealed else None,
    )
    install_access(server, settings)  # before any domain's hooks: the policy decides first
    install_scheduling(server, settings, jobs.notifier(server, settings))
    install_results(server, settings)
    install_subscriptions(server, settings)
    return server


def _install_security(app: FastAPI, settings: Settings, database: Database) -> None:
    urls = oauth.AuthUrls(settings.base_url)
    keys = SigningKeys(settings.keys_dir / "signing")
    keys.active()  # the first start makes a key, so the key set is published before any token
    app.state.auth_urls = urls
    app.state.signing_keys = keys
    app.state.tokens = TokenService(keys, urls.issuer, settings.base_url)
    app.state.issuer = Issuer(app.state.tokens, settings.base_url, urls.token)
    app.state.revoked = RevokedTokens(database)
    per_minute = settings.token_requests_per_minute
    app.state.token_limiter = RateLimiter(per_minute, burst=max(1, per_minute // 4))
    smart = settings.auth_mode == "smart"
    app.state.security_metadata = oauth.capability_security(urls) if smart else None


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    refusal = open_mode_refusal(settings, host=None)
    if refusal:
        raise ConfigurationError(refusal)
    configure_logging(settings.log_level)
    database = database or Database(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.auth_mode == "open":
            log.warning(
                "OPEN MODE: every caller acts as the platform, with no sign-in. "
                "For a local trial only; set MEDSVC_AUTH_MODE=smart anywhere else."
            )
        if settings.unsealed_results_for_benchmarks:
            log.warning(
                "UNSEALED RESULTS: results are stored in plaintext. For benchmarks only; "
                "unset MEDSVC_UNSEALED_RESULTS_FOR_BENCHMARKS anywhere else."
            )
        scheduler = None
        if settings.jobs == "in-process":
            scheduler = jobs.start_in_process(database, app.state.fhir, settings)
        yield
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        app.state.audit.close()
        for executor in app.state.executors.values():
            executor.shutdown(wait=True)
        database.dispose()

    app = FastAPI(
        title="medsvc", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.settings = settings
    app.state.database = database
    app.state.fhir = fhir_server(settings)
    app.state.audit = install_audit(
        app.state.fhir, database, settings, (break_glass.mark_accesses,), DIRECTORY
    )
    _install_security(app, settings, database)
    app.state.executors = make_executors(settings)
    _install_error_handlers(app)
    _install_health(app, database)
    app.router.routes.extend(
        SECURITY_ROUTES + SIGNIN_ROUTES + SUBSCRIPTION_ROUTES + PUBLISH_ROUTES + FHIR_ROUTES
    )
    app.add_middleware(RequestLogMiddleware)
    return app


def asgi_app() -> Any:
    """The uvicorn factory used by `medsvc serve`: the app, its start-up heap settled."""
    app = create_app()
    heap.settle()
    return app
