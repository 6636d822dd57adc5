"""Security headers on every response: CSP without inline script, no framing, HSTS in production."""

from __future__ import annotations

from flask import Flask, request

# Pages load scripts, styles and images from this site only; htmx runs with inline styles off
# (its meta config). Swagger UI (/api/docs) is the one page with an inline script of its own.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
CSP_API_DOCS = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


def init_app(app: Flask) -> None:
    hsts = int(app.config.get("HSTS_SECONDS") or 0)

    @app.after_request
    def _secure(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP_API_DOCS if request.path == "/api/docs" else CSP)
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if hsts:
            h.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
        if request.blueprint and request.blueprint.startswith("web_") and request.method != "GET":
            h.setdefault("Cache-Control", "no-store")
        elif request.blueprint and request.blueprint.startswith("web_"):
            h.setdefault("Cache-Control", "private, no-cache")
        return response
