"""Identity installed on the app: sign-up, sign-in with a phone code and a new password by
phone code, their service and routes beside sign-in."""

from fastapi import FastAPI

from medsvc.config import Settings
from medsvc.fhir import FhirServer
from medsvc.identity import proxy_activity, proxy_child, proxy_consent
from medsvc.identity.code_routes import ROUTES as CODE_ROUTES
from medsvc.identity.oidc import RelyingParty
from medsvc.identity.oidc_routes import CALLBACK
from medsvc.identity.oidc_routes import ROUTES as OIDC_ROUTES
from medsvc.identity.signup import SignUp
from medsvc.identity.signup_routes import ROUTES as SIGN_UP_ROUTES


def install(app: FastAPI, settings: Settings) -> None:
    app.state.sign_up = SignUp.of(app.state.fhir, settings)
    callback = app.state.auth_urls.issuer + CALLBACK.removeprefix("/auth")
    app.state.oidc = RelyingParty.of(settings, callback)
    app.router.routes.extend(SIGN_UP_ROUTES + CODE_ROUTES + OIDC_ROUTES)


def install_operations(server: FhirServer, settings: Settings) -> None:
    """The $operations of identity: an adult's consent to a proxy, by a code to their phone,
    a parent's proxy for their child, confirmed by the verification provider, and what the
    proxies did in a patient's name."""
    service = SignUp.of(server, settings)
    for operation in proxy_consent.operations(server.definitions, service):
        server.registry.add_operation(operation)
    server.registry.add_operation(proxy_child.operation(server.definitions, service))
    server.registry.add_operation(proxy_activity.operation(server.definitions))
