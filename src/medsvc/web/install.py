"""The app's routes, static files and error page, installed by create_app beside the API."""

from pathlib import Path

from fastapi import FastAPI
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from medsvc.config import Settings
from medsvc.web import client, signin
from medsvc.web.error_pages import ErrorPages
from medsvc.web.errors import PageError, render_page_error
from medsvc.web.pages import (
    appointments,
    book,
    doctor,
    find,
    notices,
    preferences,
    proxies,
    proxy_ask,
    proxy_child,
    results,
    trend,
)
from medsvc.web.pages.help import help_page
from medsvc.web.pages.home import home
from medsvc.web.pages.language import choose_language
from medsvc.web.signin_pages import AppSignInPages
from medsvc.web.signup_pages import AppSignUpPages

STATIC = Path(__file__).parent / "static"

ROUTES = [
    Route("/app/", home, methods=["GET"]),
    Route("/app/language", choose_language, methods=["GET"]),
    Route("/app/help", help_page, methods=["GET"]),
    Route("/app/results", results.results_list, methods=["GET"]),
    Route("/app/results/{report_id}", results.report_page, methods=["GET"]),
    Route("/app/results/{report_id}/pdf", results.report_pdf, methods=["GET"]),
    Route("/app/notices", notices.notices, methods=["GET"]),
    Route("/app/settings", preferences.settings_page, methods=["GET"]),
    Route("/app/settings", preferences.save_settings, methods=["POST"]),
    Route("/app/proxies", proxies.proxies_page, methods=["GET"]),
    Route("/app/proxies/ask", proxy_ask.ask_page, methods=["GET"]),
    Route("/app/proxies/ask", proxy_ask.ask, methods=["POST"]),
    Route("/app/proxies/accept", proxy_ask.accept, methods=["POST"]),
    Route("/app/proxies/child", proxy_child.child_page, methods=["GET"]),
    Route("/app/proxies/child", proxy_child.add_child, methods=["POST"]),
    Route("/app/proxies/{proxy_id}/end", proxies.end_proxy, methods=["POST"]),
    Route("/app/trend", trend.own_trend, methods=["GET"]),
    Route("/app/patients/{patient_id}/trend", trend.patient_trend, methods=["GET"]),
    Route("/app/find", find.find_care, methods=["GET"]),
    Route("/app/find/hospitals/{organization_id}", find.hospital, methods=["GET"]),
    Route("/app/find/doctors/{practitioner_id}", find.doctor, methods=["GET"]),
    Route("/app/book", book.hold, methods=["POST"]),
    Route("/app/appointments", appointments.appointments, methods=["GET"]),
    Route("/app/appointments/{appointment_id}/reschedule", appointments.new_times, methods=["GET"]),
    Route("/app/appointments/{appointment_id}/reschedule", appointments.move, methods=["POST"]),
    Route("/app/appointments/{appointment_id}", book.appointment_page, methods=["GET"]),
    Route("/app/appointments/{appointment_id}/book", book.confirm, methods=["POST"]),
    Route("/app/appointments/{appointment_id}/cancel", book.cancel, methods=["POST"]),
    Route("/app/day", doctor.doctor_day, methods=["GET"]),
    Route("/app/week", doctor.doctor_week, methods=["GET"]),
    Route("/app/appointments/{appointment_id}/status", doctor.mark, methods=["POST"]),
    Route("/app/patients/{patient_id}/results", results.patient_results, methods=["GET"]),
    *signin.ROUTES,
    Mount("/app/static", StaticFiles(directory=STATIC), name="static"),
]


def install(app: FastAPI, settings: Settings) -> None:
    app.state.web = client.load(settings.keys_dir, settings.base_url)
    app.state.sign_in_pages = AppSignInPages()
    app.state.sign_up_pages = AppSignUpPages()
    app.add_exception_handler(PageError, render_page_error)
    app.add_middleware(ErrorPages)
    app.router.routes.extend(ROUTES)
