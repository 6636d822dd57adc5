"""(being built)"""

from flask import Blueprint

bp = Blueprint("web_monitoring", __name__)
