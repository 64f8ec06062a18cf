"""schemathesis against /v1/openapi.json: no 500s, responses match the document.

The generated requests run in a worker thread (schemathesis calls are blocking)
while the test's event loop serves them; bounded to a few seconds per database.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from tests.provisioning.conftest import ApiClient

EXAMPLES = 8
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance, checks.status_code_conformance,
          checks.content_type_conformance]


def _fuzz(doc: dict[str, Any], base_url: str, token: str) -> tuple[list[str], dict[int, int]]:
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    statuses: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(base_url=base_url, headers=headers, timeout=10)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect all operations' failures, report them together
            failures.append(f"{operation.label}: {exc}")
    return failures, statuses


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_schemathesis_finds_no_500_and_no_schema_violation(api: ApiClient) -> None:
    async with api.client.get("/v1/openapi.json") as resp:
        doc = await resp.json()
    # something to find: an account with a plan, a payment
    _, a = await api.call("POST", "/v1/accounts", json={"username": "seed", "plan": "home"})
    await api.call("POST", f"/v1/accounts/{a['id']}/payments", json={"amount": "1"})
    failures, statuses = await asyncio.to_thread(_fuzz, doc, api.base_url, api.operator)
    assert not failures, "\n\n".join(failures)
    # it really ran: many requests, both accepted and refused ones
    assert sum(statuses.values()) > 5 * len(api_operations(doc)), statuses
    assert statuses.get(200) and statuses.get(201) and statuses.get(422), statuses


def api_operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m, p) for p, ops in doc["paths"].items() for m in ops]
