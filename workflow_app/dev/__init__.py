"""Development tooling, kept apart from the product.

``make run``'s runner (``runner``), the embedded Redis (``embedded_redis``), the local SMTP sink
(``mailsink``), the ``/dev/mail`` viewer (``devmail``) and the demo province (``demo``, with its
people and units in ``demo_data.json``).

No product module imports this package: ``create_app`` calls :func:`register` by module name,
and only when the profile is not production. Everything here may import the product.
"""

from __future__ import annotations

from flask import Flask

DEV_PROFILES = ("development", "test")


def register(app: Flask) -> None:
    """Add the dev pieces to ``app``: the ``/dev/mail`` viewer and the ``demo`` CLI group."""
    # Imported here, not at the top: ``python -m workflow_app.dev.runner`` and the tests'
    # ``embedded_redis`` import this package and need neither the models nor aiosmtpd.
    from workflow_app.dev.cli import demo_group
    from workflow_app.dev.devmail import bp as devmail_bp

    if app.config["ENV_NAME"] in DEV_PROFILES:
        app.register_blueprint(devmail_bp)
    app.cli.add_command(demo_group(app))
