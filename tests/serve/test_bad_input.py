"""Bad requests, sent with plain curl: each gets the right status and a JSON
error body in its route family's shape (OpenAI's {"error": {"message",
"type", "code"}} under /v1/, TEI's {"error", "error_type"} elsewhere)."""
from __future__ import annotations

import json
import subprocess

import requests

import pytest

KEY = "Bearer s3cret"
LONG = json.dumps({"inputs": "word " * 300})  # 300+ tokens in under 4000 bytes
HUGE = json.dumps({"input": "x" * 5000})      # past --payload-limit 4000

# (server, method, path, body, authorization, status)
CASES = [
    ("guarded", "POST", "/v1/embeddings", '{"input": ', KEY, 400),
    ("guarded", "POST", "/embed", '[1, 2', KEY, 400),
    ("guarded", "POST", "/v1/embeddings", '{"input": [1e999]}', KEY, 400),  # a number past a double
    ("guarded", "POST", "/v1/embeddings", '["a"]', KEY, 422),
    ("guarded", "POST", "/v1/embeddings", '{"input": 5}', KEY, 422),
    ("guarded", "POST", "/v1/embeddings", '{"input": null}', KEY, 422),
    ("guarded", "POST", "/v1/embeddings", '{}', KEY, 422),
    ("guarded", "POST", "/v1/embeddings", '{"input": []}', KEY, 400),
    ("guarded", "POST", "/v1/embeddings", '{"input": ""}', KEY, 400),
    ("guarded", "POST", "/v1/embeddings", '{"input": [[]]}', KEY, 400),
    ("guarded", "POST", "/v1/embeddings", '{"input": [1, "a"]}', KEY, 422),
    ("guarded", "POST", "/v1/embeddings", '{"input": [-1]}', KEY, 422),
    ("guarded", "POST", "/v1/embeddings", '{"input": [999999]}', KEY, 422),
    ("guarded", "POST", "/v1/embeddings", '{"input": "a", "encoding_format": "hex"}', KEY, 422),
    ("guarded", "POST", "/v1/embeddings", '{"input": "a", "dimensions": 0}', KEY, 422),
    ("guarded", "POST", "/v1/embeddings", '{"input": "a", "dimensions": "64"}', KEY, 422),
    ("guarded", "POST", "/v1/embeddings", '{"input": ["a", "b", "c", "d", "e"]}', KEY, 413),
    ("guarded", "POST", "/v1/embeddings", HUGE, KEY, 413),
    ("guarded", "POST", "/embed", LONG, KEY, 413),
    ("guarded", "POST", "/embed", '{"inputs": "a", "normalize": "yes"}', KEY, 422),
    ("guarded", "POST", "/embed", '{"inputs": "a", "truncation_direction": "Up"}', KEY, 422),
    ("guarded", "POST", "/embed", '{"inputs": "a", "prompt_name": "query"}', KEY, 422),
    ("guarded", "POST", "/tokenize", '{"inputs": 3}', KEY, 422),
    ("guarded", "POST", "/rerank", '{"query": "a", "texts": ["b"]}', KEY, 400),
    ("guarded", "POST", "/predict", '{"inputs": "a"}', KEY, 400),
    ("guarded", "POST", "/v1/search", '{"query": "shoes"}', KEY, 400),
    ("guarded", "POST", "/v1/embeddings", '{"input": "a"}', None, 401),
    ("guarded", "POST", "/embed", '{"inputs": "a"}', "Bearer wrong!", 401),
    ("guarded", "GET", "/info", None, "Bearer s3cre", 401),
    ("guarded", "GET", "/nope", None, KEY, 404),
    ("guarded", "GET", "/v1/embeddings", None, KEY, 405),
    ("shop", "GET", "/v1/products/NOPE", None, None, 404),
    ("shop", "DELETE", "/v1/products/NOPE", None, None, 404),
    ("shop", "GET", "/v1/products/NOPE/similar", None, None, 404),
    ("shop", "PUT", "/v1/products/P0001", '{"id": "P0002", "title": "x"}', None, 422),
    ("shop", "PUT", "/v1/products/P0001", '{"title": "x", "price": -3}', None, 422),
    ("shop", "POST", "/v1/search", '{"query": "shoes", "k": 0}', None, 422),
    ("shop", "POST", "/v1/search", '{"query": ""}', None, 400),
    ("shop", "POST", "/v1/recommend", '{"history": ["NOPE"]}', None, 404),
    ("shop", "POST", "/v1/recommend", '{}', None, 422),
    ("shop", "POST", "/v1/interactions", '{"interactions": [{"user": "u", "product_id": "P0001", "rating": "five"}]}',
     None, 422),
]


def curl(url: str, method: str, body: str | bytes | None, authorization: str | None, tmp_path) -> tuple[int, bytes]:
    out = tmp_path / "body"
    command = ["curl", "-s", "-o", str(out), "-w", "%{http_code}", "-X", method, "-H", "Content-Type: application/json"]
    if authorization:
        command += ["-H", f"Authorization: {authorization}"]
    if body is not None:
        data = tmp_path / "request"
        data.write_bytes(body if isinstance(body, bytes) else body.encode())
        command += ["--data-binary", f"@{data}"]
    result = subprocess.run(command + [url], capture_output=True, timeout=60, check=True)
    return int(result.stdout), out.read_bytes()


@pytest.mark.parametrize("server_name,method,path,body,authorization,status", CASES,
                         ids=[f"{c[1]} {c[2]} -> {c[5]} #{i}" for i, c in enumerate(CASES)])
def test_bad_request_gets_its_status_and_a_json_error(request, tmp_path, server_name, method, path, body,
                                                      authorization, status):
    server = request.getfixturevalue("guarded_server" if server_name == "guarded" else "shop_server")
    got, answer = curl(server.url + path, method, body, authorization, tmp_path)
    assert got == status, answer.decode(errors="replace")
    error = json.loads(answer)["error"]
    if path.startswith("/v1/"):
        assert set(error) == {"message", "type", "code"} and error["message"]
    else:
        assert isinstance(error, str) and error
        assert json.loads(answer)["error_type"]


def test_bytes_that_are_not_utf8_get_a_json_error(guarded_server, tmp_path):
    body = b'{"inputs": ["red summe\x98\xdf\x9b\x8dess"]}'  # the JSON parser's message quotes the bad bytes
    status, answer = curl(guarded_server.url + "/embed", "POST", body, KEY, tmp_path)
    assert status == 400
    assert "not valid JSON" in json.loads(answer)["error"]


def test_open_routes_need_no_key(guarded_server, tmp_path):
    assert curl(guarded_server.url + "/health", "GET", None, None, tmp_path)[0] == 200
    assert curl(guarded_server.url + "/metrics", "GET", None, None, tmp_path)[0] == 200
    status, answer = curl(guarded_server.url + "/embed", "POST", '{"inputs": "a"}', KEY, tmp_path)
    assert status == 200 and len(json.loads(answer)[0]) == 384


def test_cors_headers_only_for_the_origin_asked(guarded_server, shop_server):
    preflight = requests.options(guarded_server.url + "/v1/embeddings", timeout=30,
                                 headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    answer = requests.post(guarded_server.url + "/embed", json={"inputs": "a"}, timeout=30,
                           headers={"Authorization": KEY, "Origin": "https://shop.example"})
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    plain = requests.post(shop_server.url + "/embed", json={"inputs": "a"}, timeout=30,
                          headers={"Origin": "https://shop.example"})
    assert "Access-Control-Allow-Origin" not in plain.headers  # no CORS unless asked
