"""openapi.yaml documents exactly the routes app.py registers, and is a valid OpenAPI document.

Pure: no server, no DynamoDB, no AWS (importing app.py builds no adapter).
"""
from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# Routes that carry no bearer token (chalicelib/api/middleware.py PUBLIC_PREFIXES / _PATHS): liveness,
# the payment provider's webhook (signed), the local stage's web client (page, files, sign-in) and
# a Space's share page (link crawlers carry no token).
UNAUTHENTICATED = {
    ("GET", "/health"),
    ("GET", "/s/{space_id}"),
    ("POST", "/webhooks/payments"),
    ("GET", "/"),
    ("GET", "/web/{name}"),
    ("POST", "/local/sign-in"),
}


def load_spec() -> dict:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def app_operations() -> set[tuple[str, str]]:
    """(METHOD, path) of every HTTP route the Chalice app registers, blueprints included."""
    from app import app

    return {(method.upper(), path) for path, methods in app.routes.items() for method in methods}


def spec_operations(spec: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in (spec.get("paths") or {}).items()
        for method in item
        if method in HTTP_METHODS
    }


def compare_routes(app_ops: set, spec_ops: set) -> str | None:
    """None when both sides list the same operations, else a message naming what each lacks."""
    missing_in_spec = sorted(app_ops - spec_ops)
    missing_in_app = sorted(spec_ops - app_ops)
    if not missing_in_spec and not missing_in_app:
        return None
    lines = ["openapi.yaml and app.py disagree on the routes."]
    if missing_in_spec:
        lines.append("Registered by app.py but missing from openapi.yaml:")
        lines += [f"  {m} {p}" for m, p in missing_in_spec]
    if missing_in_app:
        lines.append("In openapi.yaml but not registered by app.py:")
        lines += [f"  {m} {p}" for m, p in missing_in_app]
    return "\n".join(lines)


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, item, op


@pytest.fixture(scope="module")
def spec() -> dict:
    return load_spec()


def test_openapi_documents_exactly_the_registered_routes(spec):
    app_ops = app_operations()
    assert len(app_ops) > 1, "app.routes looks empty: were the blueprints registered?"
    problem = compare_routes(app_ops, spec_operations(spec))
    assert problem is None, problem


def test_route_comparison_reports_a_missing_operation_on_either_side(spec):
    app_ops = app_operations()
    assert compare_routes(app_ops, spec_operations(spec)) is None

    # An operation the app registers but the document lacks.
    trimmed = copy.deepcopy(spec)
    del trimmed["paths"]["/spaces/{space_id}/join"]["post"]
    problem = compare_routes(app_ops, spec_operations(trimmed))
    assert problem is not None
    assert "missing from openapi.yaml" in problem and "POST /spaces/{space_id}/join" in problem

    # A whole path gone, one of several methods on it.
    trimmed = copy.deepcopy(spec)
    del trimmed["paths"]["/users/{user_id}/follow"]
    problem = compare_routes(app_ops, spec_operations(trimmed))
    assert "POST /users/{user_id}/follow" in problem and "DELETE /users/{user_id}/follow" in problem

    # An operation documented but not registered.
    extra = copy.deepcopy(spec)
    extra["paths"].setdefault("/spaces/{space_id}/refunds", {})["post"] = {
        "responses": {"200": {"description": "ok"}}
    }
    problem = compare_routes(app_ops, spec_operations(extra))
    assert problem is not None
    assert "not registered by app.py" in problem and "POST /spaces/{space_id}/refunds" in problem


def test_openapi_document_is_valid(spec):
    from openapi_spec_validator import validate

    assert spec["openapi"].startswith("3.0")
    validate(spec)


def test_every_operation_declares_its_auth_and_not_found_errors(spec):
    problems = []
    for method, path, item, op in operations(spec):
        responses = {str(code) for code in op["responses"]}
        if (method, path) in UNAUTHENTICATED:
            if op.get("security") != []:
                problems.append(f"{method} {path}: should override security to none")
        elif "401" not in responses:
            problems.append(f"{method} {path}: no 401")
        if "{space_id}" in path and "404" not in responses:
            problems.append(f"{method} {path}: has space_id but no 404")
    assert not problems, "\n".join(problems)


def test_path_parameters_match_the_path_template(spec):
    """Each {name} in a path is declared as a required path parameter, and nothing else is."""

    def resolve(param):
        if "$ref" in param:
            name = param["$ref"].rsplit("/", 1)[-1]
            return spec["components"]["parameters"][name]
        return param

    problems = []
    for method, path, item, op in operations(spec):
        template = set(re.findall(r"{([^}]+)}", path))
        params = [resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]
        declared = {p["name"] for p in params if p["in"] == "path" and p.get("required")}
        if template != declared:
            problems.append(f"{method} {path}: path parameters {sorted(declared)} != {sorted(template)}")
    assert not problems, "\n".join(problems)


def test_success_status_and_error_bodies(spec):
    """POST /spaces (and the other creations listed) answers 201, GET / redirects to the web page (302), every other route 200;
    every 503 documents Retry-After."""
    special = {
        ("POST", "/spaces"): "201",
        ("POST", "/me/devices"): "201",
        ("POST", "/spaces/{space_id}/tickets"): "201",
        ("POST", "/users/{user_id}/subscription"): "201",
        ("POST", "/spaces/{space_id}/clips"): "201",
        ("POST", "/spaces/{space_id}/appeal"): "201",
        ("POST", "/spaces/{space_id}/reports"): "201",
        ("GET", "/"): "302",
    }
    problems = []
    for method, path, item, op in operations(spec):
        codes = {str(code) for code in op["responses"]}
        expected = special.get((method, path), "200")
        success = {c for c in codes if c[0] in "23"}
        if success != {expected}:
            problems.append(f"{method} {path}: success {sorted(success)} != [{expected}]")
        response_503 = op["responses"].get("503")
        if response_503 is not None:
            if "$ref" in response_503:
                response_503 = spec["components"]["responses"][response_503["$ref"].rsplit("/", 1)[-1]]
            if "Retry-After" not in response_503.get("headers", {}):
                problems.append(f"{method} {path}: 503 without Retry-After")
    assert not problems, "\n".join(problems)
