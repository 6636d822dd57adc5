"""(being built)"""

from flask import Blueprint

bp = Blueprint("web_profile", __name__)
