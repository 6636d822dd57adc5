"""The OpenAPI document's shared parts, added to every operation in one place.

``ErrorResponses`` lists each operation's error statuses (all RFC 9457 problem+json) by what
the operation is: authenticated, addressed by an id, taking a body or a query, changing state.
``REQUEST_EXAMPLES`` gives every request body an example, by its schema's name.
"""

from __future__ import annotations

from apispec import BasePlugin

MUTATING = {"post", "put", "patch", "delete"}

REQUEST_EXAMPLES: dict[str, dict] = {
    "TokenIn": {"username": "hr.bkpsdm", "password": "correct horse battery staple"},
    "UnitIn": {"code": "DINKES-P2P", "name": "Bidang P2P", "parent_id": 2, "timezone": "WIB"},
    "UnitPatch": {"name": "Bidang Pencegahan dan Pengendalian Penyakit"},
    "EmployeeIn": {
        "nip": "198503152010011001",
        "name": "Budi Santoso",
        "email": "budi.santoso@example.go.id",
        "unit_id": 3,
        "position": "Analis Kebijakan Ahli Muda",
        "position_type": "JF",
        "employment_type": "PNS",
        "grade": "III/c",
        "superior_id": 2,
    },
    "EmployeePatch": {"position": "Analis Kebijakan Ahli Madya", "grade": "IV/a"},
    "UserIn": {
        "username": "budi.santoso",
        "password": "a-long-passphrase",
        "employee_id": 5,
        "locale": "id",
        "roles": [{"role": "hr", "unit_id": 3}],
    },
    "UserPatch": {"locale": "en"},
    "CycleIn": {
        "name": "SKP 2026",
        "year": 2026,
        "unit_id": 1,
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "plan_due": "2026-01-31",
        "midyear_start": "2026-06-01",
        "midyear_end": "2026-07-15",
        "scoring_start": "2026-12-01",
        "scoring_end": "2027-01-15",
        "feedback_due": "2027-01-31",
        "training_due": "2027-06-30",
        "sla_policy": {"events": {"submit_plan": {"working_days": 10}}},
    },
    "CycleEventIn": {"version": 1, "comment": "Launching the 2026 cycle."},
    "PlanIn": {
        "version": 3,
        "items": [
            {
                "kind": "utama",
                "leader_rhk": "Meningkatnya cakupan imunisasi",
                "rhk": "Tersusunnya laporan cakupan imunisasi triwulanan",
                "aspect": "kuantitas",
                "indicator": "Jumlah laporan",
                "target_value": "4",
                "target_unit": "laporan",
            }
        ],
        "behaviours": {"berorientasi_pelayanan": "Menanggapi permintaan data dalam 2 hari kerja."},
    },
    "ProgressIn": {
        "version": 7,
        "items": [
            {
                "item_id": 11,
                "realisation": "2 dari 4 laporan selesai.",
                "evidence": ["https://drive.example.go.id/laporan-tw1.pdf"],
            }
        ],
    },
    "TrainingUpdateIn": {"version": 12, "status": "completed", "evidence": "Sertifikat No. 123/2026"},
    "EventIn": {"version": 4, "comment": "Rencana sudah sesuai."},
    "BulkEventIn": {"event": "approve_plan", "ids": [21, 22, 23], "comment": "Disetujui.", "dry_run": True},
    "LeaveIn": {"start_date": "2026-03-02", "end_date": "2026-03-06", "kind": "cuti_tahunan"},
    "DelegationIn": {
        "delegator_id": 2,
        "delegate_id": 4,
        "kind": "plt",
        "start_date": "2026-03-02",
        "end_date": "2026-03-31",
        "reason": "Kepala seksi menjalani cuti besar.",
    },
    "ReassignIn": {"version": 5, "assessor_id": 4, "reason": "Penilai lama mutasi."},
    "BulkReassignIn": {"ids": [21, 22], "assessor_id": 4, "reason": "Penilai lama mutasi.", "dry_run": True},
    "PreferencesIn": {"locale": "en", "email_digest": "daily"},
}


def _schema_name(schema) -> str | None:
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        return ref.rsplit("/", 1)[-1] or None
    if isinstance(schema, str):
        return schema.rsplit("/", 1)[-1]
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__


class ErrorResponses(BasePlugin):
    """Adds each operation's error responses and its request body's example."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if method not in MUTATING | {"get"}:
                continue
            authenticated = operation.get("security") != []
            body = operation.get("requestBody")
            has_query = any(
                p.get("in") == "query" for p in operation.get("parameters", []) if isinstance(p, dict)
            )
            codes = set()
            if body or has_query:
                codes |= {400, 422}
            if body:
                codes |= {413, 415}
            if authenticated:
                codes |= {401, 403, 404}
                if method in MUTATING:
                    codes |= {409, 422}
            elif method in MUTATING:
                codes.add(401)  # the public POST /auth/tokens: wrong credentials
            if "{" in (path or ""):
                codes.add(404)
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                if code not in responses and str(code) not in responses:
                    responses[code] = _RESPONSE_NAMES[code]
            if body:
                for media in body.get("content", {}).values():
                    example = REQUEST_EXAMPLES.get(_schema_name(media.get("schema")) or "")
                    if example is not None:
                        media.setdefault("example", example)


_RESPONSE_NAMES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "REQUEST_ENTITY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
}
