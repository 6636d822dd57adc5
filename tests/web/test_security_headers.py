"""Security headers, the CSP's promise (no inline script), the session cookie, the vendored htmx."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.web.conftest import text_of

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "workflow_app" / "web" / "templates"
STATIC = ROOT / "workflow_app" / "static"


def test_every_page_has_the_security_headers(web):
    for path in ("/login", "/no-such-page"):
        r = web.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "same-origin"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "Strict-Transport-Security" not in r.headers  # only in production


def test_the_api_gets_the_headers_too_and_stays_problem_json(web):
    r = web.client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_hsts_in_production(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("AUDIT_KEY", "a" * 40)
    from workflow_app import create_app

    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "REDIS_URL": ""})
    r = app.test_client().get("/login")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_session_cookie_is_httponly_and_lax(web, org):
    r = web.login(org.u_staff)
    cookie = next(v for k, v in r.headers.items() if k == "Set-Cookie" and v.startswith("kinerja_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_templates_have_no_inline_script_style_or_handlers():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offenders.append(f"{path.name}: inline <script>")
        if re.search(r"\sstyle=", text):
            offenders.append(f"{path.name}: style attribute")
        if re.search(r"\son[a-z]+=", text):
            offenders.append(f"{path.name}: on* handler")
    assert offenders == []


def test_no_template_or_stylesheet_points_at_another_host():
    pattern = re.compile(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//""", re.I)
    css_url = re.compile(r"url\(\s*['\"]?(?:https?:)?//", re.I)
    for path in TEMPLATES.rglob("*.html"):
        assert not pattern.search(path.read_text()), path
    for path in STATIC.rglob("*.css"):
        assert not css_url.search(path.read_text()), path


def test_vendored_htmx_matches_its_noted_checksum():
    notes = (STATIC / "vendor" / "README.md").read_text()
    noted = re.search(r"`htmx-([\d.]+)\.min\.js` \| htmx\.org \| ([\d.]+) \| `([0-9a-f]{64})`", notes)
    assert noted and noted.group(1) == noted.group(2)
    data = (STATIC / "vendor" / f"htmx-{noted.group(1)}.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == noted.group(3)


@pytest.mark.parametrize("path", ["/static/kinerja.css", "/static/vendor/htmx-2.0.11.min.js"])
def test_static_files_are_served_locally(web, path):
    r = web.get(path)
    assert r.status_code == 200
    r.close()


def test_bootstrap_css_is_served_locally(web):
    html = text_of(web.get("/login"))
    href = re.search(r'<link rel="stylesheet" href="([^"]*bootstrap[^"]*)"', html).group(1)
    assert href.startswith("/")
    r = web.get(href)
    assert r.status_code == 200
    r.close()


def test_extra_input_attributes_render_as_attributes_not_escaped_text(web, org, app):
    """A field's extra attributes (min, max, list, autocomplete) reach the browser as attributes."""
    web.login(org.u_staff)
    html = text_of(web.get("/profile"))
    assert 'autocomplete="current-password"' in html and "&#34;" not in html
