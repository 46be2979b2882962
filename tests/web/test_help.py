"""The citizens' help page: open to visitors, in the person's language, naming the other
service's sign-in only where one is configured."""

import httpx

from tests.conftest import LiveServer


def test_a_visitor_reads_the_help_without_signing_in(smart_server: LiveServer) -> None:
    english = httpx.get(f"{smart_server.url}/app/help", headers={"Accept-Language": "en"})
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    for heading in ("Creating an account", "Signing in", "A forgotten password", "What we keep"):
        assert heading in english.text
    assert "With your account at" not in english.text  # no provider configured here
    chinese = httpx.get(f"{smart_server.url}/app/help")
    assert chinese.status_code == 200
    assert '<html lang="zh-CN">' in chinese.text


def test_the_welcome_and_sign_in_pages_link_to_the_help(smart_server: LiveServer) -> None:
    with httpx.Client(base_url=smart_server.url, timeout=30) as browser:
        assert 'href="/app/help"' in browser.get("/app/").text
        start = browser.get("/app/signin")
        assert 'href="/app/help"' in browser.get(start.headers["location"]).text
