"""The JSON API against its own OpenAPI schema: schemathesis generates
requests from /openapi.json and checks that none gets a server error and
every response matches the schema it documents (status codes, bodies)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings


@pytest.fixture(scope="module")
def operations(app_server) -> dict:
    schema = schemathesis.openapi.from_url(f"{app_server.url}/openapi.json")
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


@pytest.mark.parametrize(
    "route", ["POST /api/ask", "GET /api/search", "GET /api/sources", "GET /api/articles/{source}/text"]
)
def test_the_json_api_keeps_to_its_schema(operations: dict, route: str):
    operation = operations[route]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case) -> None:
        case.call_and_validate(timeout=60)

    check()
