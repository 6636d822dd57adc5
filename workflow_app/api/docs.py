"""Vendored Swagger UI assets, so /api/docs works offline."""

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, send_from_directory

bp = Blueprint("api_docs_assets", __name__)
ASSETS = Path(swagger_ui_bundle.swagger_ui_path)


@bp.route("/api/docs/assets/<path:filename>")
def asset(filename):
    return send_from_directory(ASSETS, filename, max_age=86400)
