"""Identity installed on the app: the sign-up service and its routes beside sign-in."""

from fastapi import FastAPI

from medsvc.config import Settings
from medsvc.identity.signup import SignUp
from medsvc.identity.signup_routes import ROUTES


def install(app: FastAPI, settings: Settings) -> None:
    app.state.sign_up = SignUp.of(app.state.fhir, settings)
    app.router.routes.extend(ROUTES)
