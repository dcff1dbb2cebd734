"""One vocabulary for text options: every name in the library's enum tables
(core/enum_text.hpp, the names the command line takes) is accepted where the
package takes that option and prints back as its value's first name; an
unknown name is the library's typed error."""
from __future__ import annotations

import numpy as np
import pytest

import embedrank
from conftest import DATA, head_model, read_lines

# aliases in the C++ tables: name -> the value's first name
ALIASES = {"metric": {"ip": "inner_product"}, "storage": {"f32": "float32", "f16": "float16"}}

OPTIONS = {"metric", "storage", "algorithm", "mean", "shrinkage", "order", "fallback", "duplicates", "aggregation", "mode",
           "prediction_level"}


def printed(option: str, name: str) -> str:
    """The name the package prints back after taking `name` for `option`."""
    if option in ("metric", "storage"):
        return getattr(embedrank.EmbeddingIndex(4, **{option: name}), option)
    return getattr(embedrank.UserKnn(**{option: name}), option)


def test_the_tables_are_the_librarys():
    names = embedrank.enum_names()
    assert set(names) == OPTIONS
    assert names["metric"] == ("inner_product", "ip", "cosine")
    assert names["algorithm"] == ("knn_basic", "knn_with_means", "knn_with_zscore")
    for option, aliases in ALIASES.items():
        assert set(aliases) <= set(names[option])
    # a copy: changing it changes nothing
    names["metric"] = ()
    assert embedrank.enum_names()["metric"] == ("inner_product", "ip", "cosine")


@pytest.mark.parametrize("option", ["metric", "storage", "algorithm", "mean", "shrinkage", "order", "fallback"])
def test_every_name_round_trips(option):
    for name in embedrank.enum_names()[option]:
        first = ALIASES.get(option, {}).get(name, name)
        assert printed(option, name) == first, f"{option}={name!r}"
        assert printed(option, first) == first


def test_an_alias_is_the_same_value():
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((20, 8)).astype(np.float32)
    results = []
    for metric, storage in [("inner_product", "float16"), ("ip", "f16")]:
        index = embedrank.EmbeddingIndex(8, metric=metric, storage=storage)
        index.add(list(range(20)), vectors)
        results.append(index.search(vectors[:3], k=5))
    assert results[0][0].tolist() == results[1][0].tolist()
    assert results[0][1].tobytes() == results[1][1].tobytes()
    assert repr(embedrank.EmbeddingIndex(8, metric="ip", storage="f16")) == \
        "EmbeddingIndex(dim=8, metric='inner_product', storage='float16')"


def test_every_duplicate_policy_and_prediction_level_name_is_the_librarys():
    names = embedrank.enum_names()
    for name in names["duplicates"]:
        knn = embedrank.UserKnn()
        if name == "error":
            with pytest.raises(embedrank.InputError, match=r"input\.duplicate_rating"):
                knn.fit(["a", "a"], ["x", "x"], [1.0, 2.0], duplicates=name)
        else:
            assert knn.fit(["a", "a"], ["x", "x"], [1.0, 2.0], duplicates=name).predict("a", "x") == 2.0
    model = embedrank.UserKnn(k=1).fit(["a", "a", "b", "b"], ["x", "y", "x", "y"], [1.0, 3.0, 2.0, 5.0])
    _, levels, _ = model.predict_many(["a", "a", "nobody", "nobody"], ["x", "nothing", "x", "nothing"],
                                      return_details=True)
    assert set(levels.tolist()) <= set(names["prediction_level"])
    assert levels.tolist()[1:] == ["user_mean", "item_mean", "global_mean"]


def test_every_aggregation_name_is_taken():
    classifier = embedrank.TokenClassifier(head_model("bert_token_cls"))
    text = read_lines(DATA / "heads" / "bert_token_cls" / "token_texts.txt")[0]
    for name in embedrank.enum_names()["aggregation"]:
        assert isinstance(classifier.entities(text, aggregation=name), list)


@pytest.mark.parametrize("make, error_id", [
    (lambda: embedrank.EmbeddingIndex(4, metric="dot"), "input.unknown_metric"),
    (lambda: embedrank.EmbeddingIndex(4, storage="int8"), "input.unknown_storage"),
    (lambda: embedrank.UserKnn(algorithm="basic"), "input.unknown_knn_algorithm"),
    (lambda: embedrank.UserKnn(mean="item"), "input.unknown_pearson_mean"),
    (lambda: embedrank.UserKnn(shrinkage="log"), "input.unknown_shrinkage"),
    (lambda: embedrank.UserKnn(order="random"), "input.unknown_neighbor_order"),
    (lambda: embedrank.UserKnn(fallback="zero"), "input.unknown_fallback_policy"),
    (lambda: embedrank.UserKnn().fit(["a"], ["x"], [1.0], duplicates="first_wins"), "input.unknown_duplicate_policy"),
])
def test_an_unknown_name_is_the_librarys_typed_error(make, error_id):
    with pytest.raises(embedrank.InputError, match=r"is not one of") as raised:
        make()
    assert raised.value.id == error_id
