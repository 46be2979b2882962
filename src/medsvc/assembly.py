"""The FHIR server with every package plugged in: the one place where the engine, the access
policy, the notices and the domains meet, for the app, the worker and the CLI alike."""

from collections.abc import Callable
from urllib.parse import urlsplit

from medsvc.access import organizations
from medsvc.access.install import install as install_access
from medsvc.access.stand_ins import citizens_notifier
from medsvc.config import ConfigurationError, Settings
from medsvc.crypto import blind_index
from medsvc.crypto.keyring import FileKeyring
from medsvc.fhir import FhirServer, Registry, everything, get_definitions, limits_from, validate
from medsvc.identity import verification
from medsvc.identity.install import install_operations as install_identity_operations
from medsvc.results import protection
from medsvc.results.at_rest import ResultSealer
from medsvc.results.guardians import parse_withheld
from medsvc.results.install import install as install_results
from medsvc.results.release_rules import parse_rules
from medsvc.scheduling.install import install as install_scheduling
from medsvc.scheduling.reminders import reminder_hours
from medsvc.subscriptions.install import install as install_subscriptions


def _oidc_complete(settings: Settings) -> None:
    issuer = settings.oidc_issuer
    if not issuer:
        return
    if not (settings.oidc_client_id and settings.oidc_client_secret):
        raise ValueError("needs MEDSVC_OIDC_CLIENT_ID and MEDSVC_OIDC_CLIENT_SECRET too")
    parts = urlsplit(issuer)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not (parts.scheme == "https" or (parts.scheme == "http" and loopback)) or parts.query:
        raise ValueError("is the provider's https:// issuer URL (http:// only on this machine)")
    if len(issuer) > 255:
        raise ValueError("is longer than 255 characters")
    if "openid" not in settings.oidc_scopes.split():
        raise ValueError("needs MEDSVC_OIDC_SCOPES to include openid")


def check_settings(settings: Settings) -> None:
    """Refuses, naming the setting, what the domains would otherwise find wrong only once
    running: the service does not start on settings its jobs or hooks cannot use."""
    parsed_by_domains: dict[str, Callable[[], object]] = {
        "reminder_hours": lambda: reminder_hours(settings.reminder_hours),
        "release_rules": lambda: parse_rules(settings.release_rules, settings.release_preliminary),
        "guardian_withheld_results": lambda: parse_withheld(settings.guardian_withheld_results),
        "identity_provider": lambda: verification.load(settings.identity_provider),
        "oidc_issuer": lambda: _oidc_complete(settings),
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
    notices = citizens_notifier(server, settings)
    install_scheduling(server, settings, notices, organizations.schedules)
    install_results(server, settings)
    install_subscriptions(server, settings)
    install_identity_operations(server, settings)
    return server
