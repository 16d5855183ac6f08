"""The desk's JSON API and pages through FastAPI's TestClient: every bad request is a 4xx with one line, never a 500.

The listed requests each once broke the desk with a 500; the fuzzing then draws requests from the
API's own OpenAPI schema (and the desk's routes) with hypothesis."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.desk_client import Desk, desk_home, form_token, log_in

HUGE = "9" * 30


@pytest.fixture
def desk(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home, items=3) as made:
        yield made


def one_line(answer: Any) -> str:
    """The answer's reason: JSON `detail`, or the desk's error page's paragraph."""
    if answer.headers.get("content-type", "").startswith("application/json"):
        detail = answer.json()["detail"]
    else:
        detail = re.search(r"<section><h1>[^<]*</h1><p>([^<]*)</p>", answer.text).group(1)  # type: ignore[union-attr]
    assert isinstance(detail, str) and detail and "\n" not in detail
    return detail


def test_the_api_lists_gets_decides_and_searches(desk: Desk) -> None:
    api = TestClient(desk.client().app, base_url="http://testserver/api")
    review = {"Authorization": f"Bearer {desk.token('rita', 'review')}"}
    listed = api.get("/posts", headers=review, params={"status": "in_review", "limit": 2}).json()
    assert [p["id"] for p in listed] == [3, 2] and all(p["total_cost_usd"] == "0" for p in listed)
    assert [p["id"] for p in api.get("/posts", headers=review, params={"offset": 2}).json()] == [1]
    one = api.get("/posts/1", headers=review).json()
    assert one["steps"] and one["channels"] == [] and one["references"] == []
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    approved = api.post("/posts/1/approve", headers=review, json={"at": at.isoformat()}).json()
    assert approved["status"] == "approved"
    again = api.post("/posts/1/approve", headers=review, json={})
    assert again.status_code == 409 and "cannot become approved" in one_line(again)
    assert api.post("/posts/2/reject", headers=review, json={"reason": "off-voice"}).json()["status"] == "rejected"
    word = one["plan"]["beat_title"].split()[0]
    assert 1 in {p["id"] for p in api.get("/search", headers=review, params={"q": word}).json()}
    made = api.post("/posts/3/references", headers=review, json={"bot": "b", "turn_id": "t1", "excerpt": "e",
                                                                 "at": "2026-11-01T10:00:00+01:00"})  # fmt: skip
    assert made.status_code == 201 and made.json()["at"] == "2026-11-01T10:00:00+01:00"


def test_requests_that_once_gave_500_are_4xx_with_one_line(desk: Desk) -> None:
    client = log_in(desk.client())
    token = form_token(client, "/")
    review = {"Authorization": f"Bearer {desk.token('rita', 'review')}"}
    multipart = client.post("/posts/1/reject", files={"reason": (None, "via multipart"), "csrftoken": (None, token)})
    assert multipart.status_code == 200 and "via multipart" in multipart.text  # a multipart form works like any form
    assert client.post("/posts/1/reject", files={"f": ("a.txt", b"x" * 70_000)}).status_code == 413
    cases = [
        client.get(f"/posts/{HUGE}"),
        client.get(f"/batches/{HUGE}"),
        client.get(f"/?p={HUGE}"),
        client.get("/?p=-1"),
        client.get("/?q=%00"),
        client.get("/artifacts/a%00b.png"),
        client.post(f"/posts/{HUGE}/approve", data={"csrftoken": token}),
        client.post("/bulk/approve", data={"post_ids": [HUGE], "csrftoken": token}),
        client.post("/posts/1/reject", data={"reason": "nul \x00 byte", "csrftoken": token}),
        client.get(f"/api/posts?offset={HUGE}", headers=review),
        client.get(f"/api/posts?batch={HUGE}", headers=review),
        client.get(f"/api/posts/{HUGE}", headers=review),
        client.get("/api/search?q=%00", headers=review),
        client.post("/api/posts/3/references", headers=review,
                    json={"bot": "b", "turn_id": "t", "excerpt": "e", "at": "2026-11-01T10:00:00"}),
        client.post("/api/posts/3/reject", headers=review, json={"reason": "nul \x00"}),
        client.post("/api/posts/3/reject", headers=review, content=b"{not json", ),
        client.post("/api/posts/3/approve", headers=review, json={"at": "tomorrow"}),
    ]  # fmt: skip
    for answer in cases:
        assert 400 <= answer.status_code < 500, (answer.request.url, answer.status_code, answer.text[:200])
        one_line(answer)
    assert "timezone" in one_line(cases[13])
    with desk.store.session() as session:
        from beatdesk.store import repo

        assert repo.get_post(session, 3).status == "in_review"  # nothing refused changed the store


# --- fuzzing -------------------------------------------------------------------------------------

ints = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([0, 1, 2, 3, 2**31, 2**63]))
texts = st.text(max_size=40)
scalars = st.one_of(st.none(), st.booleans(), ints, st.floats(allow_nan=False), texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                           max_leaves=6)  # fmt: skip
times = st.one_of(
    st.datetimes().map(datetime.isoformat),
    st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
    texts,
)


def value_for(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values around what a parameter's schema asks for: its type, its edges, far past them, and garbage."""
    kinds = {s.get("type") for s in schema.get("anyOf", [schema])} | ({"enum"} if "$ref" in schema else set())
    choices: list[st.SearchStrategy[Any]] = [texts, ints]
    if "enum" in kinds:
        choices.append(st.sampled_from(["in_review", "approved", "hero_text", "video", "nope"]))
    if schema.get("format") == "date-time" or any(s.get("format") == "date-time" for s in schema.get("anyOf", [])):
        choices.append(times)
    return st.one_of(choices)


def api_requests(schema: dict[str, Any]) -> st.SearchStrategy[tuple[str, str, dict[str, Any], Any]]:
    """(method, path, query, json body) drawn from the OpenAPI schema's operations."""
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            operations.append((method, path, operation))

    @st.composite
    def draw(draw: Any) -> tuple[str, str, dict[str, Any], Any]:
        method, path, operation = draw(st.sampled_from(operations))
        query: dict[str, Any] = {}
        for parameter in operation.get("parameters", []):
            value = draw(value_for(parameter.get("schema", {})))
            if parameter["in"] == "path":
                path = path.replace("{" + parameter["name"] + "}", quote(str(value), safe="") or "x")
            elif draw(st.booleans()):
                query[parameter["name"]] = value
        body = None
        if "requestBody" in operation:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            fields = schema["components"]["schemas"][ref]["properties"]
            body = draw(st.one_of(
                json_values,
                st.fixed_dictionaries({}, optional={name: st.one_of(value_for(field), json_values)
                                                    for name, field in fields.items()}),
            ))  # fmt: skip
        return method, path, query, body

    return draw()


def test_fuzzing_the_api_from_its_openapi_schema_gives_no_500(desk: Desk) -> None:
    client = desk.client()
    headers = {"Authorization": f"Bearer {desk.token('ada', 'admin')}"}
    schema = client.get("/api/openapi.json", headers=headers).json()
    assert len(schema["paths"]) >= 6

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(api_requests(schema))
    def no_500(request: tuple[str, str, dict[str, Any], Any]) -> None:
        method, path, query, body = request
        answer = client.request(method, "/api" + path, params=query, headers=headers,
                                content=None if body is None else json.dumps(body))  # fmt: skip
        assert answer.status_code < 500, (method, path, query, body, answer.text[:300])
        if answer.status_code >= 400:
            one_line(answer)

    no_500()


def desk_routes(client: TestClient) -> list[tuple[str, str]]:
    """The desk's own routes (not served as a schema, but FastAPI still builds one)."""
    app = client.app.app.app  # type: ignore[attr-defined]  # inside SecurityHeaders and RefuseNul
    return [(method.upper(), path) for path, methods in app.openapi()["paths"].items() for method in methods]


def test_fuzzing_the_desk_routes_gives_no_500(desk: Desk) -> None:
    client = log_in(desk.client(), "ada")
    token = form_token(client, "/")
    routes = [(m, p) for m, p in desk_routes(client) if p not in ("/logout", "/login")]
    assert len(routes) >= 15
    fields = st.dictionaries(st.sampled_from(["reason", "note", "at", "title", "caption", "hashtags", "body",
                                              "post_ids", "back", "name", "role", "password", "text", "new_key",
                                              "persona", "status", "format", "batch", "q", "p", "sort"]),
                             st.one_of(texts, ints.map(str)), max_size=5)  # fmt: skip

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(routes), st.one_of(ints.map(str), texts), fields)
    def no_500(route: tuple[str, str], part: str, values: dict[str, str]) -> None:
        method, path = route
        filled = re.sub(r"\{[^}]+\}", lambda _: quote(part, safe="") or "x", path)
        if method == "GET":
            answer = client.get(filled, params=values, follow_redirects=False)
        else:
            answer = client.post(filled, data=values | {"csrftoken": token}, follow_redirects=False)
        assert answer.status_code < 500, (method, filled, values, answer.text[:300])
        if answer.status_code >= 400:
            one_line(answer)

    no_500()
