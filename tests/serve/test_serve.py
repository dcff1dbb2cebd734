"""embedrank-serve, run for real on loopback and called by real clients.

- The official `openai` client (base64, its default, and float) gets
  Embedder.encode's vectors bit for bit; TEI's /embed and /tokenize agree
  with the package's embedder and tokenizer.
- /rerank and /v1/rerank equal CrossEncoder.predict's committed references
  (within the package's own 1e-6) and the package's scores bit for bit;
  /predict equals its classifier.
- The shop routes equal the package's ShoppingGuide, and live updates show
  in the next search.
- Concurrent requests are batched without changing a bit; overload gets 429
  with Retry-After at once; SIGTERM completes the requests in flight.
"""
from __future__ import annotations

import base64
import concurrent.futures
import math
import re
import signal
import threading
import time

import numpy as np
import openai
import pytest
import requests

import embedrank
from conftest import DATA, HEADS, SHOP_ARGS, Server, head_model, real_model

TEXTS = ["red summer dress", "Pacewell running shoes under 100", "我想买一件红色的连衣裙",
         "  USB-C 65W charger  ", "a wireless mouse " * 120]  # the last one is past 256 tokens


def bits_equal(got: np.ndarray, expected: np.ndarray) -> bool:
    return got.shape == expected.shape and np.array_equal(got.view(np.uint32), expected.view(np.uint32))


# ---- OpenAI --------------------------------------------------------------


@pytest.mark.parametrize("encoding_format", [None, "float", "base64"])
def test_openai_client_gets_the_embedders_vectors_bit_for_bit(shop_server, embedder, encoding_format):
    client = openai.OpenAI(base_url=shop_server.url + "/v1", api_key="unused")
    kwargs = {} if encoding_format is None else {"encoding_format": encoding_format}
    answer = client.embeddings.create(model="all-MiniLM-L6-v2", input=TEXTS, **kwargs)
    if encoding_format == "base64":  # the client hands base64 back as it came
        got = np.stack([np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in answer.data])
    else:
        got = np.array([d.embedding for d in answer.data], dtype=np.float32)
    assert [d.index for d in answer.data] == list(range(len(TEXTS)))
    assert bits_equal(got, embedder.encode(TEXTS))
    tokens = sum(min(len(ids), 256) for ids in tokenized(shop_server, TEXTS))
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == tokens


def tokenized(server, texts):
    """Token ids per text from /tokenize (special tokens included)."""
    answer = server.post("/tokenize", {"inputs": texts}).json()
    return [[t["id"] for t in tokens] for tokens in answer]


def test_openai_single_string_token_ids_and_dimensions(shop_server, embedder):
    client = openai.OpenAI(base_url=shop_server.url + "/v1", api_key="unused")
    one = client.embeddings.create(model="m", input="red summer dress", encoding_format="float")
    expected = embedder.encode(["red summer dress"])
    assert bits_equal(np.array([one.data[0].embedding], dtype=np.float32), expected)
    # token ids (no special tokens: the server adds them, as for text)
    ids = tokenized(shop_server, ["red summer dress"])[0][1:-1]
    for input_ in (ids, [ids]):
        by_ids = client.embeddings.create(model="m", input=input_, encoding_format="float")
        assert bits_equal(np.array([by_ids.data[0].embedding], dtype=np.float32), expected)
    # dimensions: the first d values, normalised again
    short = client.embeddings.create(model="m", input="red summer dress", dimensions=64, encoding_format="float")
    got = np.array(short.data[0].embedding, dtype=np.float32)
    cut = expected[0, :64].astype(np.float64)
    assert got.shape == (64,)
    assert np.max(np.abs(got - cut / np.linalg.norm(cut))) < 1e-6
    assert abs(np.linalg.norm(got.astype(np.float64)) - 1.0) < 1e-6


def test_openai_errors_reach_the_client_typed(shop_server):
    client = openai.OpenAI(base_url=shop_server.url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as error:
        client.embeddings.create(model="m", input=[])
    assert "empty" in str(error.value)
    with pytest.raises(openai.UnprocessableEntityError):
        client.embeddings.create(model="m", input="x", dimensions=100000)


# ---- TEI -----------------------------------------------------------------


def test_tei_embed_normalize_truncate_and_prompt_options(shop_server, embedder):
    got = np.array(shop_server.post("/embed", {"inputs": TEXTS, "truncate": True}).json(), dtype=np.float32)
    assert bits_equal(got, embedder.encode(TEXTS))
    raw = np.array(shop_server.post("/embed", {"inputs": TEXTS[:2], "normalize": False}).json(), dtype=np.float32)
    assert bits_equal(raw, embedder.encode(TEXTS[:2], normalize_embeddings=False))
    one = np.array(shop_server.post("/embed", {"inputs": "red summer dress"}).json(), dtype=np.float32)
    assert bits_equal(one, embedder.encode(["red summer dress"]))
    # keeping the end of an over-long text equals embedding its last tokens
    ids = tokenized(shop_server, [TEXTS[-1]])[0][1:-1]
    left = np.array(shop_server.post("/embed", {"inputs": [TEXTS[-1]], "truncate": True,
                                                "truncation_direction": "Left"}).json(), dtype=np.float32)
    tail = shop_server.post("/v1/embeddings", {"input": [ids[-254:]]}).json()["data"][0]["embedding"]
    assert bits_equal(left, np.array([tail], dtype=np.float32))
    assert shop_server.post("/embed", {"inputs": "x", "prompt_name": "query"}).status_code == 422


def test_tei_tokenize_gives_ids_and_byte_spans(shop_server, embedder):
    text = "Red dress 连衣裙, USB-C"
    tokens = shop_server.post("/tokenize", {"inputs": text}).json()[0]
    encoded = embedder.tokenize([text])
    ids, mask = encoded["input_ids"][0], encoded["attention_mask"][0]
    assert [t["id"] for t in tokens] == [int(i) for i, m in zip(ids, mask) if m]
    raw = text.encode()
    for t in tokens:
        if t["special"]:
            assert t["start"] is None and t["text"] in ("[CLS]", "[SEP]")
        else:
            assert raw[t["start"]:t["stop"]].decode() == t["text"]
    plain = shop_server.post("/tokenize", {"inputs": [text], "add_special_tokens": False}).json()[0]
    assert [t["id"] for t in plain] == [t["id"] for t in tokens[1:-1]]


def read_pairs():
    lines = (HEADS / "bert_cross_encoder" / "pairs.tsv").read_text(encoding="utf-8").split("\n")
    return [tuple(line.split("\t", 1)) for line in lines if line]  # split at the first tab, as the C++ test


def test_rerank_routes_equal_cross_encoder_predict(shop_server):
    pairs = read_pairs()
    reference = np.load(HEADS / "bert_cross_encoder" / "scores.npy").reshape(-1)
    cross = embedrank.SequenceClassifier(head_model("bert_cross_encoder"))
    library = cross.predict(pairs).reshape(-1)
    logits = cross.pair_logits(pairs).reshape(-1)
    for i, (query, text) in enumerate(pairs):
        if not query:  # an empty query is refused
            assert shop_server.post("/rerank", {"query": query, "texts": [text]}).status_code == 400
            continue
        others = [p[1] for p in pairs if p[1] != text][:3]
        texts = others + [text]
        tei = shop_server.post("/rerank", {"query": query, "texts": texts, "return_text": True}).json()
        mine = [r for r in tei if r["index"] == len(texts) - 1][0]
        assert np.float32(mine["score"]) == library[i]
        assert abs(mine["score"] - reference[i]) <= 1e-6
        assert mine["text"] == text
        assert [r["score"] for r in tei] == sorted((r["score"] for r in tei), reverse=True)
        raw = shop_server.post("/rerank", {"query": query, "texts": [text], "raw_scores": True}).json()
        assert np.float32(raw[0]["score"]) == logits[i]
    query = pairs[0][0]
    documents = [p[1] for p in pairs]
    cohere = shop_server.post("/v1/rerank", {"query": query, "documents": documents, "top_n": 3,
                                             "return_documents": True}).json()
    expected = cross.predict([(query, d) for d in documents]).reshape(-1)
    order = sorted(range(len(documents)), key=lambda j: -expected[j])[:3]
    assert [r["index"] for r in cohere["results"]] == order
    assert [np.float32(r["relevance_score"]) for r in cohere["results"]] == [expected[j] for j in order]
    assert cohere["results"][0]["document"] == {"text": documents[order[0]]}


def test_predict_equals_the_classifier(shop_server):
    classifier = embedrank.SequenceClassifier(head_model("bert_seq_cls"))
    texts = ["a great red dress", "terrible shoes", "it is fine"]
    scores = classifier.classify(texts)
    labels = classifier.labels
    batch = shop_server.post("/predict", {"inputs": texts}).json()
    single = shop_server.post("/predict", {"inputs": texts[0]}).json()
    assert single == batch[0]
    for row, answer in zip(scores, batch):
        assert {a["label"]: np.float32(a["score"]) for a in answer} == {l: s for l, s in zip(labels, row)}
        assert [a["score"] for a in answer] == sorted((a["score"] for a in answer), reverse=True)
    pair = shop_server.post("/predict", {"inputs": ["a great red dress", "terrible shoes"], "raw_scores": True}).json()
    logits = classifier.pair_logits([("a great red dress", "terrible shoes")]).reshape(-1)
    assert {a["label"]: np.float32(a["score"]) for a in pair} == {l: s for l, s in zip(labels, logits)}


def test_info_health_models_and_metrics(shop_server):
    info = shop_server.get("/info").json()
    assert info["dimension"] == 384 and info["max_input_length"] == 256 and info["shop"]["products"] >= 358
    assert shop_server.get("/health").json() == {"status": "ok"}
    assert shop_server.get("/v1/models").json()["data"][0]["object"] == "model"
    metrics = shop_server.get("/metrics")
    assert metrics.headers["Content-Type"].startswith("text/plain")
    text = metrics.text
    assert re.search(r'embedrank_requests_total\{route="/health",status="200"\} [1-9]', text)
    assert re.search(r"embedrank_batch_tokens_count [1-9]", text)
    assert 'embedrank_request_duration_seconds_bucket{route="/v1/embeddings",le="+Inf"}' in text


# ---- the shop ----------------------------------------------------------


def read_interactions():
    users, items, ratings = [], [], []
    for line in (DATA / "interactions.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        user, item, rating, _day = line.split("\t")
        users.append(user)
        items.append(item)
        ratings.append(float(rating))
    return users, items, ratings


@pytest.fixture(scope="module")
def guide(embedder):
    catalogue = embedrank.Catalogue.read([DATA / "catalogue.tsv", DATA / "attributes.tsv"])
    g = embedrank.ShoppingGuide(embedder, catalogue, knn_min_k=20)
    g.fit_collaborative_filtering(*read_interactions())
    return g


QUERIES = ["pacewell running shoes under 100", "我想买一件红色的连衣裙", "green tea", "red dress", "gift for a runner"]


@pytest.mark.parametrize("query", QUERIES)
def test_search_equals_the_shopping_guide(shop_server, guide, query):
    answer = shop_server.post("/v1/search", {"query": query, "k": 10}).json()
    expected = guide.search(query, 10)
    assert [r["id"] for r in answer["results"]] == [r.id for r in expected.results]
    assert [np.float32(r["score"]) for r in answer["results"]] == [r.score for r in expected.results]
    assert [(a["name"], a["value"], a["begin"], a["end"]) for a in answer["query"]["attributes"]] == \
        [(a.name, a.value, a.begin, a.end) for a in expected.query.attributes]
    assert answer["query"]["mode"] == "hybrid"
    assert answer["query"]["lexical_weight"] == pytest.approx(expected.lexical_weight)
    assert answer["query"]["other_script_lexical_weight"] == pytest.approx(expected.other_script_lexical_weight)
    assert [(np.float32(r["dense_score"]), np.float32(r["lexical_score"])) for r in answer["results"]] == \
        [(r.dense_score, r.lexical_score) for r in expected.results]
    for mode in ("dense", "lexical"):
        one_side = shop_server.post("/v1/search", {"query": query, "k": 10, "mode": mode}).json()
        assert [r["id"] for r in one_side["results"]] == [r.id for r in guide.search(query, 10, mode=mode).results]
    dense = shop_server.post("/v1/search", {"query": query, "k": 10, "mode": "dense"}).json()["results"]
    for r in dense:  # (1 - w) cosine + w boost, w = 0.1
        assert abs(r["score"] - (0.9 * r["similarity"] + 0.1 * r["boost"])) < 1e-6 or r["boost"] == 0
    share = answer["query"]["unknown_token_share"]
    assert (share > 0.5) == (query == "我想买一件红色的连衣裙")


def test_search_options_equal_the_shopping_guides(shop_server, guide):
    body = {"query": "light running shoes under 100", "k": 10, "ignore": ["category", "price"],
            "filters": {"brand": "Pacewell"}, "price_max": 60}
    answer = shop_server.post("/v1/search", body).json()
    expected = guide.search(body["query"], 10, ignore=["category", "price"], filters={"brand": "Pacewell"}, price_max=60)
    assert answer["results"] and all(r["brand"] == "Pacewell" and r["price"] <= 60 for r in answer["results"])
    assert [r["id"] for r in answer["results"]] == [r.id for r in expected.results]
    assert [np.float32(r["score"]) for r in answer["results"]] == [r.score for r in expected.results]


def test_search_filters_and_ignored_attributes(shop_server):
    pacewell = shop_server.post("/v1/search", {"query": "pacewell running shoes under 100", "k": 10}).json()
    assert pacewell["results"] and all(r["brand"] == "Pacewell" and r["price"] <= 100 for r in pacewell["results"])
    loose = shop_server.post("/v1/search", {"query": "pacewell running shoes under 100", "k": 10,
                                            "ignore": ["brand", "price"]}).json()
    assert [a["name"] for a in loose["query"]["attributes"]] == ["category"]
    assert any(r["brand"] != "Pacewell" or r["price"] > 100 for r in loose["results"])
    explicit = shop_server.post("/v1/search", {"query": "shoes", "k": 20, "filters": {"brand": "Pacewell"},
                                               "price_max": 40}).json()
    assert explicit["results"] and all(r["brand"] == "Pacewell" and r["price"] <= 40 for r in explicit["results"])
    nothing = shop_server.post("/v1/search", {"query": "shoes", "filters": {"brand": "No Such Brand"}}).json()
    assert nothing["results"] == []


def test_recommend_equals_the_shopping_guide_and_explains(shop_server, guide):
    history = ["P0044", "P0046", "P0093"]
    answer = shop_server.post("/v1/recommend", {"user": "u0001", "history": history, "k": 10,
                                                "content_weight": 0.3}).json()
    expected = guide.recommend("u0001", [(h, 1.0) for h in history], 10, content_weight=0.3)
    assert [r["id"] for r in answer["results"]] == [r.id for r in expected]
    assert [r["score"] for r in answer["results"]] == [r.score for r in expected]
    assert all(r["closest_history_id"] in history for r in answer["results"])
    with_cf = [r for r in answer["results"] if r["cf_score"] is not None]
    assert with_cf and all(r["cf_neighbors"] for r in with_cf)
    by_user = shop_server.post("/v1/recommend", {"user": "alex_runner", "k": 5}).json()
    assert by_user["history"] and len(by_user["results"]) == 5
    assert not set(by_user["history"]) & {r["id"] for r in by_user["results"]}


def test_live_updates_show_in_the_next_search(shop_server):
    product = shop_server.get("/v1/products/P0046").json()
    product["price"] = 12.5
    put = shop_server.put_json = requests.put(shop_server.url + "/v1/products/P0046", json=product, timeout=60)
    assert put.status_code == 200 and put.json()["updated"] == 1 and put.json()["embedded"] == 0
    found = shop_server.post("/v1/search", {"query": "pacewell running shoes", "k": 20}).json()["results"]
    assert [r["price"] for r in found if r["id"] == "P0046"] == [12.5]
    new = {"id": "N0001", "title": "Pacewell Trail Runner GTX waterproof running shoes", "category": "Shoes",
           "brand": "Pacewell", "colour": "black", "price": 89.0, "attributes": {"size": "42"}}
    added = shop_server.post("/v1/products", {"products": [new]}).json()
    assert added == {"added": 1, "updated": 0, "embedded": 1}
    top = shop_server.post("/v1/search", {"query": "waterproof trail running shoes gtx", "k": 3}).json()["results"]
    assert "N0001" in [r["id"] for r in top]
    similar = shop_server.get("/v1/products/N0001/similar", params={"k": 4}).json()["results"]
    assert len(similar) == 4 and "N0001" not in [r["id"] for r in similar]
    assert requests.delete(shop_server.url + "/v1/products/N0001", timeout=60).json() == {"id": "N0001", "removed": True}
    assert shop_server.get("/v1/products/N0001").status_code == 404
    after = shop_server.post("/v1/search", {"query": "waterproof trail running shoes gtx", "k": 10}).json()["results"]
    assert "N0001" not in [r["id"] for r in after]


def test_interactions_refit_the_cf_model(shop_server):
    before = shop_server.get("/info").json()["shop"]["cf_refits"]
    answer = shop_server.post("/v1/interactions", {"interactions": [
        {"user": "newcomer", "product_id": "P0044", "rating": 5},
        {"user": "newcomer", "product_id": "P0046", "rating": 4}], "refit": True})
    assert answer.status_code == 202 and answer.json()["accepted"] == 2
    deadline = time.monotonic() + 60
    while shop_server.get("/info").json()["shop"]["cf_refits"] == before:
        assert time.monotonic() < deadline, "no refit within 60 s"
        time.sleep(0.05)
    by_user = shop_server.post("/v1/recommend", {"user": "newcomer", "k": 3}).json()
    assert by_user["history"] == ["P0044", "P0046"]


# ---- serving behaviour ---------------------------------------------------


def test_concurrent_requests_are_batched_without_changing_a_bit(shop_server, embedder):
    texts = [f"product number {i} in a red colour" for i in range(48)]
    expected = embedder.encode(texts)
    barrier = threading.Barrier(24)

    def one(i):
        barrier.wait()
        answer = shop_server.post("/v1/embeddings", {"input": [texts[i], texts[i + 24]]}).json()
        return np.array([d["embedding"] for d in answer["data"]], dtype=np.float32)

    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        results = list(pool.map(one, range(24)))
    for i, got in enumerate(results):
        assert bits_equal(got, expected[[i, i + 24]])
    buckets = re.findall(r'embedrank_batch_sequences_bucket\{le="([0-9.]+)"\} (\d+)', shop_server.get("/metrics").text)
    below_two = [int(n) for le, n in buckets if float(le) == 1.0][0]
    total = int(re.search(r"embedrank_batch_sequences_count (\d+)", shop_server.get("/metrics").text).group(1))
    assert total > below_two, "no encoder batch held more than one sequence"


def test_overload_gets_429_at_once_and_the_rest_complete(tmp_path, embedder):
    server = Server("--max-concurrent-requests", "2", "--quiet")
    try:
        texts = [f"a long description of product {i}, " * 12 for i in range(16)]
        expected = embedder.encode(texts)
        barrier = threading.Barrier(16)

        def one(i):
            barrier.wait()
            start = time.monotonic()
            r = server.post("/v1/embeddings", {"input": texts})
            return r, time.monotonic() - start

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(one, range(16)))
        statuses = [r.status_code for r, _ in answers]
        assert set(statuses) <= {200, 429} and 429 in statuses and 200 in statuses
        for r, seconds in answers:
            if r.status_code == 429:
                assert r.headers["Retry-After"] == "1"
                assert r.json()["error"]["type"] == "rate_limit_error"
            else:
                got = np.array([d["embedding"] for d in r.json()["data"]], dtype=np.float32)
                assert bits_equal(got, expected)
        assert 'embedrank_requests_rejected_total{reason="overloaded"}' in server.get("/metrics").text
    finally:
        assert server.stop() == 0


def test_sigterm_completes_the_requests_in_flight(tmp_path, embedder):
    server = Server(log=tmp_path / "serve.log")
    texts = [f"a long description of product {i}, " * 14 for i in range(32)]
    expected = embedder.encode(texts)
    started = threading.Event()
    outcome = {}

    def slow(i):
        started.set()
        outcome[i] = server.post("/v1/embeddings", {"input": texts})

    threads = [threading.Thread(target=slow, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    started.wait()
    deadline = time.monotonic() + 30
    def admitted() -> int:  # in flight (less the /metrics request asking) or answered
        text = server.get("/metrics").text
        answered = re.search(r'embedrank_requests_total\{route="/v1/embeddings",status="200"\} (\d+)', text)
        in_flight = int(re.search(r"embedrank_requests_in_flight (\d+)", text).group(1)) - 1
        return in_flight + (int(answered.group(1)) if answered else 0)

    while admitted() < 6:  # all six admitted before the signal
        assert time.monotonic() < deadline, "the six requests were not all admitted within 30 s"
        time.sleep(0.002)
    server.process.send_signal(signal.SIGTERM)
    # while the drain waits for those, a new request is refused with 503
    late = None  # the first answer that is not a 200 (a 200 was sent before the drain began)
    for _ in range(200):
        try:
            answer = server.post("/v1/embeddings", {"input": ["late"]})
        except requests.ConnectionError:
            break  # the server already stopped: every request in flight is done
        if answer.status_code != 200:
            late = answer
            break
        time.sleep(0.001)
    for t in threads:
        t.join()
    assert server.stop() == 0
    for i in range(6):
        assert outcome[i].status_code == 200
        got = np.array([d["embedding"] for d in outcome[i].json()["data"]], dtype=np.float32)
        assert bits_equal(got, expected)
    assert late is None or late.status_code == 503
    log = (tmp_path / "serve.log").read_text()
    assert "SIGTERM, draining" in log and "stopped" in log
