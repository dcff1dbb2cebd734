"""embedrank.UserKnn: predictions equal to embedrank-cf's bit for bit (from
arrays and from a pandas DataFrame), recommend(), bad input."""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

import embedrank
from conftest import DATA, program, run

TRAIN = DATA / "cf" / "synthetic_train.tsv"
TEST = DATA / "cf" / "synthetic_test.tsv"


def triplets(path):
    users, items, ratings = [], [], []
    for line in path.read_text().splitlines():
        user, item, rating = line.split("\t")[:3]
        users.append(user)
        items.append(item)
        ratings.append(float(rating))
    return users, items, ratings


def cli_predictions(tmp_path, *flags):
    out = tmp_path / "predictions.tsv"
    run([program("embedrank-cf"), "--train", TRAIN, "--test", TEST, "--predictions", out, *flags])
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    return (np.array([float(r[3]) for r in rows]), [r[5] for r in rows], np.array([int(r[6]) for r in rows]))


@pytest.mark.parametrize("algorithm, flags, options", [
    ("knn_with_means", [], {}),
    ("knn_basic", [], {"k": 10, "min_k": 2}),
    ("knn_with_zscore", ["--shrinkage", "none", "--max-neighbors", "0", "--mean", "user"],
     {"shrinkage": "none", "max_neighbors": 0, "mean": "user"}),
    ("knn_basic", ["--surprise-compatible"], {"surprise_compatible": True}),
    ("knn_with_zscore", ["--surprise-compatible"], {"surprise_compatible": True}),
])
def test_predictions_equal_the_command_line_bit_for_bit(tmp_path, algorithm, flags, options):
    cli_flags = ["--algo", algorithm, *flags]
    if "k" in options:
        cli_flags += ["--k", str(options["k"]), "--min-k", str(options["min_k"])]
    expected, levels, actual_k = cli_predictions(tmp_path, *cli_flags)
    users, items, ratings = triplets(TRAIN)
    test_users, test_items, _ = triplets(TEST)
    model = embrank_fit(algorithm, options, users, items, ratings)
    got, got_levels, got_k = model.predict_many(test_users, test_items, return_details=True)
    assert got.dtype == np.float64 and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes(), f"max diff {np.abs(got - expected).max()}"
    assert got_levels.tolist() == levels and got_k.tolist() == actual_k.tolist()
    # one at a time, and with integer ids (the same ids as decimal text)
    assert [model.predict(u, i) for u, i in zip(test_users[:40], test_items[:40])] == expected[:40].tolist()
    as_ints = embrank_fit(algorithm, options, np.array(users, dtype=np.int64), np.array(items, dtype=np.int64),
                          np.array(ratings))
    assert as_ints.predict_many(np.array(test_users, dtype=np.int64), np.array(test_items, dtype=np.int64)).tobytes() \
        == expected.tobytes()


def embrank_fit(algorithm, options, users, items, ratings):
    return embedrank.UserKnn(algorithm=algorithm, **options).fit(users, items, ratings)


def test_a_pandas_dataframe_fits_the_same_model(tmp_path):
    users, items, ratings = triplets(TRAIN)
    frame = pd.DataFrame({"user": np.array(users, dtype=np.int64), "item": items, "rating": ratings})
    from_frame = embedrank.UserKnn().fit(frame)
    from_arrays = embedrank.UserKnn().fit(users, items, ratings)
    test_users, test_items, _ = triplets(TEST)
    assert from_frame.predict_many(test_users, test_items).tobytes() == \
        from_arrays.predict_many(test_users, test_items).tobytes()
    renamed = frame.rename(columns={"user": "customer", "item": "sku", "rating": "stars"})
    with pytest.raises(embedrank.InputError, match=r"input\.missing_column.*'user'"):
        embedrank.UserKnn().fit(renamed)
    by_name = embedrank.UserKnn().fit(renamed, user_col="customer", item_col="sku", rating_col="stars")
    assert by_name.predict_many(test_users, test_items).tobytes() == from_arrays.predict_many(test_users, test_items).tobytes()
    assert (from_frame.num_users, from_frame.num_items) == (from_arrays.num_users, from_arrays.num_items)


def test_recommend_gives_unseen_items_best_first():
    users, items, ratings = triplets(TRAIN)
    model = embedrank.UserKnn().fit(np.array(users, dtype=np.int64), np.array(items, dtype=np.int64), ratings)
    user = int(users[0])
    seen = {int(i) for u, i in zip(users, items) if int(u) == user}
    recommended, scores = model.recommend(user, n=15)
    assert recommended.dtype == np.int64 and scores.dtype == np.float64
    assert 0 < len(recommended) <= 15 and len(recommended) == len(scores)
    assert not seen & set(recommended.tolist())
    assert np.all(np.diff(scores) <= 0)
    for item, score in zip(recommended, scores):
        assert model.predict(user, int(item)) == pytest.approx(score, rel=1e-12)
    string_model = embedrank.UserKnn().fit(users, items, ratings)
    assert string_model.recommend(users[0], 15)[0].tolist() == [str(i) for i in recommended]
    # an unknown user gets nothing, flagged as Surprise flags an impossible prediction
    nothing, no_scores = model.recommend("nobody", 5)
    assert len(nothing) == 0 and len(no_scores) == 0
    assert model.recommend("nobody", 5, return_details=True)[2] == {"was_impossible": True, "reason": "user is unknown"}
    assert model.recommend(user, 5, return_details=True)[2]["was_impossible"] is False


def test_unknown_ids_fall_back():
    model = embedrank.UserKnn().fit(["a", "a", "b", "b"], ["x", "y", "x", "y"], [1.0, 3.0, 2.0, 5.0])
    values, levels, used = model.predict_many(["a", "nobody", "nobody"], ["x", "x", "nothing"], return_details=True)
    assert levels.tolist()[1:] == ["item_mean", "global_mean"]
    assert values[2] == pytest.approx(11.0 / 4)
    assert used.tolist()[1:] == [0, 0]


def test_unknown_ids_are_flagged_as_fallbacks():
    model = embedrank.UserKnn().fit(["a", "a", "b", "b"], ["x", "y", "x", "y"], [1.0, 3.0, 2.0, 5.0])
    assert model.predict("nobody", "x") == pytest.approx(1.5)  # the item's mean, as before
    value, details = model.predict("nobody", "x", return_details=True)
    assert value == model.predict("nobody", "x")
    assert details == {"was_impossible": True, "reason": "user is unknown", "level": "item_mean", "actual_k": 0}
    value, details = model.predict("nobody", "nothing", return_details=True)
    assert value == pytest.approx(11.0 / 4) and details["reason"] == "user and item are unknown"
    assert details["was_impossible"] and details["level"] == "global_mean"
    assert model.predict("a", "nothing", return_details=True)[1]["reason"] == "item is unknown"
    value, details = model.predict("a", "x", return_details=True)
    assert details["was_impossible"] == (details["level"] != "neighbors")


def test_predictions_are_clipped_to_the_rating_scale_by_default():
    # b rates like a but higher; c's deviations push a's prediction of z past 5
    users = ["a", "a", "a", "b", "b", "b", "b"]
    items = ["x", "y", "w", "x", "y", "w", "z"]
    ratings = [4.0, 5.0, 4.0, 1.0, 2.0, 1.0, 5.0]
    clipped = embedrank.UserKnn(algorithm="knn_with_means").fit(users, items, ratings)
    unclipped = embedrank.UserKnn(algorithm="knn_with_means", clip=False).fit(users, items, ratings)
    raw = unclipped.predict("a", "z")
    assert raw > 5.0
    assert clipped.predict("a", "z") == 5.0
    assert embedrank.UserKnn(surprise_compatible=True).fit(users, items, ratings).predict("a", "z") > 5.0


def test_bad_input_raises():
    users, items, ratings = ["a", "b"], ["x", "y"], [1.0, 2.0]
    cases = [
        (lambda: embedrank.UserKnn().predict("a", "x"), embedrank.InputError, r"input\.not_fitted"),
        (lambda: embedrank.UserKnn().fit(users, items, [1.0]), embedrank.InputError, r"input\.bad_shape"),
        (lambda: embedrank.UserKnn().fit(users, items, [1.0, float("nan")]), embedrank.InputError,
         r"input\.non_finite_rating"),
        (lambda: embedrank.UserKnn().fit(users, items, ["1", "2"]), embedrank.InputError, r"input\.bad_dtype"),
        (lambda: embedrank.UserKnn().fit(np.array([1.0, 2.0]), items, ratings), embedrank.InputError,
         r"input\.bad_dtype"),
        (lambda: embedrank.UserKnn().fit(users, [None, "y"], ratings), TypeError, r"items\[0\] is NoneType"),
        (lambda: embedrank.UserKnn().fit(users, None, ratings), TypeError, "not None"),
        (lambda: embedrank.UserKnn().fit([], [], []), embedrank.InputError, r"input\.empty_ratings"),
        (lambda: embedrank.UserKnn().fit(["a", "a"], ["x", "x"], ratings, duplicates="error"), embedrank.InputError,
         r"input\.duplicate_rating"),
        (lambda: embedrank.UserKnn(algorithm="svd"), embedrank.InputError,
         r"input\.unknown_knn_algorithm.*'svd' is not one of knn_basic, knn_with_means, knn_with_zscore"),
        (lambda: embedrank.UserKnn(algorithm="with_means"), embedrank.InputError, r"input\.unknown_knn_algorithm"),
        (lambda: embedrank.UserKnn(surprise_compatible=True, mean="median"), embedrank.InputError,
         r"input\.unknown_pearson_mean"),
        (lambda: embedrank.UserKnn().fit(users, items, ratings, duplicates="first"), embedrank.InputError,
         r"input\.unknown_duplicate_policy"),
        (lambda: embedrank.UserKnn(k=0), embedrank.InputError, r"input\.bad_option.*k must"),
        (lambda: embedrank.UserKnn(shrinkage_lambda=-1).fit(users, items, ratings), embedrank.InputError,
         r"input\.bad_option"),
        (lambda: embedrank.UserKnn().fit(users, items, ratings).predict(None, "x"), TypeError, "user is NoneType"),
        (lambda: embedrank.UserKnn().fit(users, items, ratings).predict_many(["a"], ["x", "y"]), embedrank.InputError,
         r"input\.bad_shape"),
    ]
    for call, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            call()


def test_fit_while_other_threads_predict_and_recommend():
    # fit() swaps the model in whole: each call on another thread answers
    # from the old model or from the new one, never a mix or a crash. The
    # two models differ in ratings (r and 6 - r) and in id types (int, str).
    users, items, ratings = triplets(TRAIN)
    int_users, int_items = np.array(users, dtype=np.int64), np.array(items, dtype=np.int64)
    flipped = [6.0 - r for r in ratings]
    fit_a = lambda m: m.fit(int_users, int_items, ratings)  # noqa: E731
    fit_b = lambda m: m.fit(users, items, flipped)  # noqa: E731
    user, pairs_users, pairs_items = users[0], users[:200], items[:200]

    def predictions(model):
        return model.predict_many(pairs_users, pairs_items).tolist()

    def recommendations(model):  # the ids' type too: int for model A, str for model B
        recommended, scores = model.recommend(user, 10)
        return recommended.dtype.kind, [str(i) for i in recommended], scores.tolist()

    def answers(model):  # one per call: the model may change between two calls
        return [call(model) for call in (predictions, recommendations, recommended_ids)]

    item_ids = sorted(set(items))
    catalogue = embedrank.EmbeddingIndex(8, metric="cosine")
    catalogue.add(item_ids, np.random.default_rng(5).standard_normal((len(item_ids), 8)).astype(np.float32))
    history = [i for u, i in zip(users, items) if u == user][:3]

    def recommended_ids(knn):
        return [r.id for r in embedrank.Recommender(catalogue, knn).recommend(
            embedrank.Recommender(catalogue).profile_from_history(history), history, cf_user=user, k=10,
            content_weight=0.3)]

    expected = [answers(fit_a(embedrank.UserKnn())), answers(fit_b(embedrank.UserKnn()))]
    for call in range(3):
        assert expected[0][call] != expected[1][call]

    model = fit_a(embedrank.UserKnn())
    errors, done = [], threading.Event()

    def read(worker: int) -> None:
        try:
            while not done.is_set():
                for call, got in enumerate(answers(model)):
                    assert got in (expected[0][call], expected[1][call]), f"worker {worker}, call {call}"
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
            done.set()

    readers = [threading.Thread(target=read, args=(w,)) for w in range(4)]
    for t in readers:
        t.start()
    try:
        for round_ in range(30):
            (fit_b if round_ % 2 == 0 else fit_a)(model)
    finally:
        done.set()
        for t in readers:
            t.join()
    assert not errors, errors[0]
    assert answers(model) == expected[0]  # the last fit was model A's
