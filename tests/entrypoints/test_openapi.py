from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from sync.entrypoints.openapi_builder import PLACEHOLDER_HOST, build_document

DOCUMENT = build_document()
CHECKED_IN = Path(__file__).parents[2] / "openapi.json"
OPERATIONS = [
    (path, method, operation)
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
]


def _http_functions(functions):
    for name, function in functions.items():
        trigger = json.loads(function.get_function_json())["bindings"][0]
        if trigger["type"] == "httpTrigger":
            yield name, "/" + trigger["route"], trigger["methods"][0].lower(), trigger


def test_document_is_valid_swagger_2_when_built():
    validate(DOCUMENT)
    assert DOCUMENT["swagger"] == "2.0"
    assert DOCUMENT["securityDefinitions"] == {
        "apiKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"}
    }


def test_checked_in_document_is_current_when_compared_with_the_code():
    written = json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    assert written == DOCUMENT, "run: python -m sync.entrypoints.openapi_builder > openapi.json"


def test_every_http_function_is_described_with_its_route_and_method(functions):
    described = {(path, method) for path, method, _ in OPERATIONS}
    served = {(path, method) for _, path, method, _ in _http_functions(functions)}
    assert described == served
    operation_ids = [operation["operationId"] for _, _, operation in OPERATIONS]
    assert len(operation_ids) == len(set(operation_ids))


def test_anonymous_functions_need_no_key_in_the_document(functions):
    for name, path, method, trigger in _http_functions(functions):
        operation = DOCUMENT["paths"][path][method]
        anonymous = trigger["authLevel"] == "ANONYMOUS"
        assert (operation.get("security") == []) is anonymous, name


def test_long_operations_document_202_with_location_and_retry_after():
    long_running = [op for _, _, op in OPERATIONS if op.get("x-ms-long-running-operation")]
    assert {op["operationId"] for op in long_running} == {
        "StartMappingSync",
        "StartModifiedSync",
        "StartFullSync",
    }
    for operation in long_running:
        assert set(operation["responses"]["202"]["headers"]) == {"Location", "Retry-After"}


async def test_document_is_served_with_the_callers_host_when_requested(app):
    response = await app.call("openapi_document", "GET", "openapi.json")
    assert response.status == 200
    assert response.body["host"] == "sync.example.net"
    assert {k: v for k, v in response.body.items() if k != "host"} == {
        k: v for k, v in DOCUMENT.items() if k != "host"
    }
    assert DOCUMENT["host"] == PLACEHOLDER_HOST


def _junk(rng: random.Random, depth: int = 0):
    choices = [
        lambda: None,
        lambda: rng.choice([True, False]),
        lambda: rng.randint(-(2**40), 2**40),
        rng.random,
        lambda: rng.choice(["", "x" * rng.randint(1, 300), "CUSTOMER", str(uuid.uuid4()), "ü€"]),
    ]
    if depth < 2:
        choices.append(lambda: [_junk(rng, depth + 1) for _ in range(rng.randint(0, 3))])
        keys = ["bcId", "dataverseId", "bcIds", "dataverseIds", "dryRun", "mappings", "retry"]
        choices.append(
            lambda: {rng.choice(keys): _junk(rng, depth + 1) for _ in range(rng.randint(0, 3))}
        )
    return rng.choice(choices)()


def _value(rng: random.Random, name: str) -> str:
    options = [
        str(uuid.uuid4()),
        uuid.uuid4().hex,
        "CUSTOMER",
        "payment_terms",
        "",
        "%00",
        "..",
        "x" * 500,
    ]
    if name == "dryRun":
        options += ["true", "false", "maybe"]
    return rng.choice(options)


@pytest.mark.parametrize(
    ("path", "method", "operation"), OPERATIONS, ids=[op["operationId"] for *_, op in OPERATIONS]
)
async def test_fuzzed_requests_never_answer_500_when_sent_to_each_operation(
    app, path, method, operation
):
    """A bounded fuzzing pass over the document: junk in, 4xx (or success) out, never 500."""
    rng = random.Random(operation["operationId"])
    function = next(n for n, p, m, _ in _http_functions(app.functions) if (p, m) == (path, method))
    for _ in range(15):
        route, params = {}, {}
        for parameter in operation["parameters"]:
            if parameter["in"] == "path":
                route[parameter["name"]] = _value(rng, parameter["name"])
            elif parameter["in"] == "query" and rng.random() < 0.6:
                params[parameter["name"]] = _value(rng, parameter["name"])
        body = json.dumps(_junk(rng)).encode() if rng.random() < 0.8 else b"\xff{"
        response = await app.call(
            function, method.upper(), path, route=route, params=params, body=body
        )
        assert response.status < 500, (route, params, body, response.body)
        app.queue.take_all()
