"""(being built)"""

from flask import Blueprint

bp = Blueprint("web_home", __name__)
