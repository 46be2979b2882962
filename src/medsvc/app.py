"""create_app(settings): routes, error handlers, lifespan and explicit domain registration."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc
from starlette.exceptions import HTTPException

from medsvc import jobs
from medsvc.access import break_glass
from medsvc.access.acting import ProxiesActingFor
from medsvc.access.organizations import DIRECTORY
from medsvc.assembly import fhir_server
from medsvc.audit.install import install as install_audit
from medsvc.config import ConfigurationError as ConfigurationError  # raised by create_app
from medsvc.config import Settings, get_settings
from medsvc.db import Database, violated_constraint
from medsvc.errors import (
    DATABASE_ERRORS,
    Invalid,
    Issue,
    MedsvcError,
    MethodNotAllowed,
    NotFound,
    database_error,
    operation_outcome,
)
from medsvc.fhir import CONTENT_TYPE, jsonio
from medsvc.fhir import ROUTES as FHIR_ROUTES
from medsvc.identity.install import install as install_identity
from medsvc.kit import heap, migrate
from medsvc.kit.executors import make_executors
from medsvc.kit.requestlog import RequestLogMiddleware, configure_logging
from medsvc.scheduling.bulk_publish import ROUTES as PUBLISH_ROUTES
from medsvc.security import oauth
from medsvc.security.choose_routes import ROUTES as CHOOSE_ROUTES
from medsvc.security.context import local_trial_refusal
from medsvc.security.ratelimit import RateLimiter
from medsvc.security.revocation import RevokedTokens
from medsvc.security.routes import ROUTES as SECURITY_ROUTES
from medsvc.security.signin_routes import ROUTES as SIGNIN_ROUTES
from medsvc.security.signing import SigningKeys
from medsvc.security.tokens import Issuer, TokenService
from medsvc.subscriptions.routes import ROUTES as SUBSCRIPTION_ROUTES
from medsvc.web.install import install as install_web

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

    for kind in DATABASE_ERRORS:
        app.add_exception_handler(kind, _database_error)


def _database_error(_request: Request, error: Exception) -> Response:
    answer = database_error(error)
    assert answer is not None  # installed for the database errors alone
    if isinstance(error, exc.IntegrityError):
        message = CONSTRAINT_MESSAGES.get(violated_constraint(error) or "")
        answer = type(answer)(message) if message else answer
    else:
        log.warning("database error", exc_info=error)
    return outcome_response(answer)


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


def _install_security(app: FastAPI, settings: Settings, database: Database) -> None:
    urls = oauth.AuthUrls(settings.base_url)
    keys = SigningKeys(settings.keys_dir / "signing")
    keys.active()  # the first start makes a key, so the key set is published before any token
    app.state.auth_urls = urls
    app.state.signing_keys = keys
    app.state.tokens = TokenService(keys, urls.issuer, settings.base_url)
    app.state.acting_for = ProxiesActingFor()
    app.state.issuer = Issuer(app.state.tokens, settings.base_url, urls.token, app.state.acting_for)
    app.state.revoked = RevokedTokens(database)
    per_minute = settings.token_requests_per_minute
    app.state.token_limiter = RateLimiter(per_minute, burst=max(1, per_minute // 4))
    smart = settings.auth_mode == "smart"
    app.state.security_metadata = oauth.capability_security(urls) if smart else None


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    refusal = local_trial_refusal(settings, host=None)
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
    app.state.executors = make_executors(*settings.thread_counts)
    _install_error_handlers(app)
    _install_health(app, database)
    app.router.routes.extend(
        SECURITY_ROUTES
        + SIGNIN_ROUTES
        + CHOOSE_ROUTES
        + SUBSCRIPTION_ROUTES
        + PUBLISH_ROUTES
        + FHIR_ROUTES
    )
    install_identity(app, settings)
    install_web(app, settings)
    app.add_middleware(RequestLogMiddleware)
    return app


def asgi_app() -> Any:
    """The uvicorn factory used by `medsvc serve`: the app, its start-up heap settled."""
    app = create_app()
    heap.settle()
    return app
