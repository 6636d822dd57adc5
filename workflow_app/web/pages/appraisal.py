"""(being built)"""

from flask import Blueprint

bp = Blueprint("web_appraisal", __name__)
