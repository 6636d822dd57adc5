"""Extension singletons, bound to the app in ``create_app``."""

from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

from workflow_app.problems import ProblemSchema

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class KinerjaApi(Api):
    """flask-smorest, documenting every error as RFC 9457 application/problem+json.

    No catch-all ``default`` response: each operation lists its own error statuses
    (workflow_app/api/openapi.py), so a status the spec does not list is a finding.
    """

    DEFAULT_ERROR_RESPONSE_NAME = None

    @property
    def ERROR_SCHEMA(self):  # noqa: N802 - flask-smorest's attribute name

        return ProblemSchema

    def _register_responses(self):
        self.DEFAULT_RESPONSE_CONTENT_TYPE = "application/problem+json"
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
api = KinerjaApi()
