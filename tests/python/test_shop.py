"""The live shop from Python: Catalogue, ShoppingGuide and CatalogueAttributes.

The README's headline flow through the package gives the C++ flow's answers
bit for bit (tests/shop/test_shop_flow.cpp writes them, scores as exact hex
floats, when ctest runs); updates, save/open and errors as in C++.
"""
from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest

import embedrank
from conftest import BUILD, ROOT, require, tiny_model

DATA = ROOT / "examples" / "data"


def read_interactions():
    users, items, ratings = [], [], []
    lines = (DATA / "interactions.tsv").read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        user, item, rating, _day = line.split("\t")
        users.append(user)
        items.append(item)
        ratings.append(float(rating))
    return users, items, ratings


def headline_flow() -> list[str]:
    """The flow of tests/shop/test_shop_flow.cpp, line for line in its format."""
    model = embedrank.Embedder(tiny_model("bert_gelu_mean"))
    catalogue = embedrank.Catalogue.read([DATA / "catalogue.tsv", DATA / "attributes.tsv"])
    guide = embedrank.ShoppingGuide(model, catalogue, knn_min_k=20)
    guide.fit_collaborative_filtering(*read_interactions())
    out = []

    def searches(stage):
        for query in ["pacewell running shoes under 100", "我想买一件红色的连衣裙", "green tea", "red dress"]:
            answer = guide.search(query, 10)
            for a in answer.query.attributes:
                out.append(f"{stage}\tattribute\t{query}\t{a.name}\t{a.value}\t{a.begin}\t{a.end}")
            out.append(f"{stage}\tsearch_text\t{query}\t{answer.query.search_text}")
            for i, r in enumerate(answer.results):
                out.append(f"{stage}\tsearch\t{query}\t{i}\t{r.id}\t{float(r.score).hex()}")

    searches("before")
    history = [("P0044", 2.0), ("P0046", 1.0), ("P0093", 1.0)]
    for user in ["u0001", "u0002", "stranger"]:
        for i, r in enumerate(guide.recommend(user, history, 10, content_weight=0.3)):
            out.append(f"before\trecommend\t{user}\t{i}\t{r.id}\t{r.score.hex()}\t{r.content_score.hex()}\t"
                       f"{r.cf_score.hex()}\t{r.closest_history_id}")
    shoes = guide.product("P0046")
    shoes.price = 19.99
    tea = guide.product("P0035")
    tea.title += " (new season)"
    added = embedrank.Product("N0001", title="Pacewell Trail Runner GTX waterproof running shoes",
                              category="Shoes", brand="Pacewell", colour="black", price=89.0)
    report = guide.upsert([shoes, tea, added])
    assert report.embedded == 2
    assert guide.remove(["P0044"]) == 1
    searches("after")
    return out


def c_hex(line: str) -> str:
    """C's %a and Python's float.hex() spell some values differently; bring C's to Python's."""
    fields = line.split("\t")
    for i, f in enumerate(fields):
        if f.startswith(("0x", "-0x")) and "p" in f:
            fields[i] = float.fromhex(f).hex()
        elif f in ("nan", "-nan"):
            fields[i] = "nan"
    return "\t".join(fields)


def test_headline_flow_equals_cpp_bit_for_bit():
    reference = require(BUILD / "test_work" / "shop_flow" / "cpp.tsv",
                        f"run `ctest --test-dir {BUILD} -R shop` first (test_shop writes it)")
    expected = [c_hex(line) for line in reference.read_text(encoding="utf-8").splitlines()]
    got = headline_flow()
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g == e


def products(n=20):
    colours = ["red", "blue", "green"]
    things = ["summer dress", "running shoes", "frying pan", "green tea"]
    return [{"id": f"P{i}", "title": f"{colours[i % 3]} {things[i % 4]}", "description": f"item {i}",
             "brand": ["Acme", "Zenith"][i % 2], "colour": colours[i % 3], "price": 5.0 + 10 * i,
             "material": "cotton" if i % 4 == 0 else None}
            for i in range(n)]


def test_catalogue_reads_joins_and_reports_bad_lines(tmp_path: Path):
    catalogue = embedrank.Catalogue.read([DATA / "catalogue.tsv", DATA / "attributes.tsv"])
    assert len(catalogue) == 358
    p = catalogue.product("P0001")
    assert (p.brand, p.colour, p.price) == ("Orla Rae", "red", 77.99)
    assert "P0001" in catalogue
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title,price\nA,x,1\nB,y,cheap\n", encoding="utf-8")
    with pytest.raises(embedrank.ParseError, match=r"bad\.csv:3: column 'price' \(3\)"):
        embedrank.Catalogue.read(bad)
    c = embedrank.Catalogue()
    changes = c.upsert(products(3))
    assert [ch.row for ch in changes] == [0, 1, 2]
    assert c.product("P0").attributes == {"material": "cotton"}
    assert c.remove(["P1", "nope"])[0] == 1
    assert len(c) == 2 and c.rows == 3
    remap = c.compact()
    assert remap[0] == 0 and remap[2] == 1


def test_guide_updates_search_and_state(tmp_path: Path):
    model = embedrank.Embedder(tiny_model("bert_gelu_mean"), threads=1)
    guide = embedrank.ShoppingGuide(model, products(), threads=1)
    answer = guide.search("acme red dress under 100", 5)
    assert answer.query.search_text == "acme red dress"
    assert answer.query.price[1] == 100
    assert [a.name for a in answer.query.attributes] == ["brand", "colour", "price"]
    for r in answer.results:
        assert guide.product(r.id).brand == "Acme" and guide.product(r.id).price <= 100

    p = guide.product("P3")
    p.price = 999.0
    report = guide.upsert([p])
    assert (report.embedded, report.updated, report.added) == (0, 1, 0)
    assert [r.id for r in guide.search("frying pan over 900", 5).results] == ["P3"]
    assert guide.remove(["P3"]) == 1
    assert guide.search("frying pan over 900", 5).results == []
    with pytest.raises(embedrank.InputError):
        guide.product("P3")

    guide.save(tmp_path / "state")
    reopened = embedrank.ShoppingGuide.open(tmp_path / "state", model, threads=1)
    for q in ["acme red dress under 100", "green tea", "zenith running shoes"]:
        a, b = guide.search(q, 8), reopened.search(q, 8)
        assert [(r.id, r.score) for r in a.results] == [(r.id, r.score) for r in b.results]
    other = embedrank.Embedder(tiny_model("bert_relu_max_mean"), threads=1)
    with pytest.raises(embedrank.FormatError, match="model_mismatch"):
        embedrank.ShoppingGuide.open(tmp_path / "state", other)


def test_guide_searches_from_threads_while_one_updates():
    model = embedrank.Embedder(tiny_model("bert_gelu_mean"), threads=1)
    guide = embedrank.ShoppingGuide(model, products(), threads=1)
    errors = []

    def reader():
        try:
            for _ in range(30):
                results = guide.search("red summer dress", 5).results
                assert all(results[i].score >= results[i + 1].score for i in range(len(results) - 1))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for step in range(60):
        p = products()[step % 20]
        p["price"] = 1.0 + step
        guide.upsert([p])
    for t in threads:
        t.join()
    assert errors == []
    assert math.isclose(guide.product("P19").price, 60.0)  # the last upsert of P19 (step 59)


def test_catalogue_attributes_by_row():
    attributes = embedrank.CatalogueAttributes()
    attributes.add(0, "brand", "Orla Rae")
    attributes.add(1, "colour", "红色")
    attributes.set_price(0, 39.0)
    q = attributes.parse("orla rae 红色 dress under 50")
    assert [(a.name, a.value) for a in q.attributes] == [("brand", "Orla Rae"), ("colour", "红色"), ("price", "<= 50")]
    attributes.clear(0)
    assert [a.name for a in attributes.parse("orla rae dress").attributes] == []
    assert math.isnan(attributes.price(0))


def test_guide_search_modes_report_both_scores():
    model = embedrank.Embedder(tiny_model("bert_gelu_mean"), threads=1)
    guide = embedrank.ShoppingGuide(model, products(), threads=1)
    assert embedrank.enum_names()["mode"] == ("dense", "lexical", "hybrid")
    by_mode = {mode: guide.search("frying pan", 6, mode=mode) for mode in ("dense", "lexical", "hybrid")}
    assert guide.search("green tea", 6).mode == "hybrid"  # the default
    for mode, answer in by_mode.items():
        assert answer.mode == mode
        assert answer.results
        for r in answer.results:
            assert r.dense_score == r.similarity
            assert r.lexical_score >= 0.0
        scores = [r.score for r in answer.results]
        assert scores == sorted(scores, reverse=True)
    assert by_mode["dense"].lexical_weight == 0.0
    assert by_mode["lexical"].lexical_weight == 1.0
    assert 0.0 <= by_mode["hybrid"].lexical_weight <= 1.0
    # products in another script get only the part for tokens the model cannot read
    assert 0.0 <= by_mode["hybrid"].other_script_lexical_weight <= by_mode["hybrid"].lexical_weight
    # lexical search finds only products holding a query term, best BM25 first (no attribute boosts here)
    lexical = by_mode["lexical"].results
    assert all(r.lexical_score > 0 for r in lexical)
    assert [r.lexical_score for r in lexical] == sorted((r.lexical_score for r in lexical), reverse=True)
    assert all("frying pan" in guide.product(r.id).title for r in lexical)
    # the same product has the same two scores whichever mode found it
    dense_scores = {r.id: (r.dense_score, r.lexical_score) for r in by_mode["dense"].results}
    for r in lexical:
        if r.id in dense_scores:
            assert dense_scores[r.id] == (r.dense_score, r.lexical_score)
    with pytest.raises(embedrank.InputError, match="search mode"):
        guide.search("green tea", 5, mode="sparse")
    with pytest.raises(embedrank.InputError, match="bad_utf8"):
        guide.search(b"red \xff dress", 5)  # bytes reach the library as they are
    assert guide.search("?!", 5, mode="lexical").results == []
