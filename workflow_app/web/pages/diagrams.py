"""(being built)"""

from flask import Blueprint

bp = Blueprint("web_diagrams", __name__)
