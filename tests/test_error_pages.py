"""The front server's page for a worker timeout: in every language, current, with the headers.

``deploy/nginx/portal.conf`` answers nginx's own 502 and 504 with the pages
``flask --app portal error-pages`` writes to ``deploy/error-pages`` (``portal/error_pages.py``).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
from html.parser import HTMLParser

import pytest
import requests
from flask_babel import force_locale, gettext

from portal import error_pages
from portal.error_pages import PAGES, ROOT

NGINX = ROOT / "deploy" / "nginx"
HEADER = re.compile(r'^add_header ([\w-]+) "([^"]*)" always;$', re.M)


class Page(HTMLParser):
    """What a reader gets from a page: its language, direction, tags and text."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())

    def first(self, tag: str) -> dict:
        return next(attrs for name, attrs in self.tags if name == tag)


def test_every_language_has_its_page_and_it_is_current(app):
    stale = [
        name
        for name, html in error_pages.pages(app).items()
        if not (PAGES / name).is_file() or (PAGES / name).read_text(encoding="utf-8") != html
    ]
    assert not stale, f"run `make error-pages` and commit deploy/error-pages: {stale}"


@pytest.mark.parametrize("locale", ["en", "cy", "ur", "ar", "zh_Hans"])
def test_the_page_speaks_the_readers_language_and_asks_nothing(app, locale):
    page = Page((PAGES / locale / error_pages.PAGE_NAME).read_text(encoding="utf-8"))
    html = page.first("html")
    assert html["lang"] == ("en-GB" if locale == "en" else locale.replace("_", "-"))
    assert html["dir"] == ("rtl" if locale in ("ur", "ar") else "ltr")
    with app.test_request_context(), force_locale(locale):
        expected = [str(error_pages.TITLE), str(error_pages.BODY)]
    assert expected[0] in page.text and expected[1] in page.text
    assert locale == "en" or expected[0] != "Sorry, the service took too long to answer"
    # A file served to everyone: nothing personal, no form or token, nothing from elsewhere.
    names = {tag for tag, _attrs in page.tags}
    assert not names & {"form", "input", "script", "iframe", "img"}
    for _tag, attrs in page.tags:
        for attr in ("href", "src"):
            assert attrs.get(attr, "/").startswith("/"), attrs


def conf_headers() -> dict[str, str]:
    return dict(HEADER.findall((NGINX / "security-headers.conf").read_text()))


def test_the_front_server_sends_the_portals_security_headers(app, client):
    app.config["HSTS"], hsts = True, app.config["HSTS"]
    try:
        answer = client.get("/healthz")
    finally:
        app.config["HSTS"] = hsts
    sent = conf_headers()
    for name in (
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "X-Frame-Options",
        "Cross-Origin-Opener-Policy",
        "Permissions-Policy",
        "Strict-Transport-Security",
    ):
        assert sent[name] == answer.headers[name], name
    assert sent["Cache-Control"] == "no-store"


def test_the_front_server_knows_every_language(app):
    conf = (NGINX / "portal.conf").read_text()
    cookie = re.search(r"\$cookie_portal_locale .*?\(\?<code>([\w|]+)\)", conf, re.S).group(1)
    assert sorted(cookie.split("|")) == sorted(app.config["LOCALES"])
    assert "error_page 502 504 /_portal_errors/$portal_error_locale/50x.html;" in conf


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def front_server(tmp_path):
    """The shipped configuration run by nginx on loopback, in front of a portal that is down
    (what nginx sees when gunicorn kills a worker mid-request: no answer)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    port, dead = free_port(), free_port()
    conf = (NGINX / "portal.conf").read_text()
    conf = conf.split("\nserver {\n    listen 80;")[0]  # the redirect to https is not tried
    conf = re.sub(r"\n\s*listen .*443.*;", "", conf)
    conf = re.sub(r"\n\s*ssl_certificate.*;", "", conf)
    conf = conf.replace("server_name portal.example.nhs.uk;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("127.0.0.1:8000", f"127.0.0.1:{dead}")
    conf = conf.replace("/etc/nginx/portal/", f"{NGINX}/").replace("/srv/portal/", f"{ROOT}/")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {tmp_path};\n"
        f"proxy_temp_path {tmp_path};\n{conf}\n}}\n"
    )
    command = [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    subprocess.run(  # noqa: S603 - Debian's nginx, this test's own configuration
        [*command, "-g", "user root;"], check=True, capture_output=True
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(int((tmp_path / "nginx.pid").read_text()), signal.SIGTERM)


def fetch(url: str, **headers) -> tuple[int, dict, str]:
    answer = requests.get(url, headers=headers, timeout=10)
    return answer.status_code, dict(answer.headers), answer.content.decode()


def test_nginx_answers_a_dead_worker_with_the_portals_page(app, front_server):
    code, headers, body = fetch(front_server + "/patients/1/plan", Cookie="portal_locale=ur")
    assert code == 502
    assert body == (PAGES / "ur" / error_pages.PAGE_NAME).read_text(encoding="utf-8")
    for name, value in conf_headers().items():
        assert headers[name] == value
    _code, _headers, body = fetch(front_server + "/", **{"Accept-Language": "cy-GB,en;q=0.5"})
    assert 'lang="cy"' in body
    _code, _headers, body = fetch(front_server + "/", **{"Accept-Language": "xx"})
    with app.test_request_context(), force_locale("en"):
        assert gettext("Sorry, the service took too long to answer") in body

# Rendered text and layout only: the same on every database, so checked on SQLite alone.
pytestmark = pytest.mark.rendering
