"""embedrank.Recommender: history profiles, content-only ranking equal to the
index's search, the CF blend, explanations, bad input; and the package's
error hierarchy."""
from __future__ import annotations

import math

import numpy as np
import pytest

import embedrank
from test_cf import TRAIN, triplets


@pytest.fixture(scope="module")
def shop():
    users, items, ratings = triplets(TRAIN)
    item_ids = sorted(set(items))
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((len(item_ids), 16)).astype(np.float32)
    catalogue = embedrank.EmbeddingIndex(16, metric="cosine")
    catalogue.add(item_ids, vectors)
    knn = embedrank.UserKnn().fit(users, items, ratings)
    history = [i for u, i in zip(users, items) if u == users[0]]
    return catalogue, knn, users[0], history, item_ids, vectors


def test_profile_is_the_normalised_weighted_mean(shop):
    catalogue, _, _, history, _, _ = shop
    recommender = embedrank.Recommender(catalogue)
    weighted = [(history[0], 2.0), (history[1], 1.0, 3.0)]
    profile = recommender.profile_from_history(weighted, recency_half_life=3.0)
    stored = catalogue.vectors(history[:2]).astype(np.float64)
    expected = 2.0 * stored[0] + 0.5 * stored[1]
    expected /= np.linalg.norm(expected)
    assert profile.dtype == np.float32 and profile.shape == (16,)
    assert np.allclose(profile, expected, atol=1e-6)
    assert np.array_equal(recommender.profile_from_history({history[0]: 2.0, history[1]: 1.0}),
                          recommender.profile_from_history([(history[0], 2.0), history[1]]))


def test_content_only_ranking_is_the_search_without_the_history(shop):
    catalogue, _, _, history, _, _ = shop
    recommender = embedrank.Recommender(catalogue)
    profile = recommender.profile_from_history(history)
    got = recommender.recommend(profile, history, k=10)
    ids, scores = catalogue.search(profile, k=10, exclude=history)
    assert [r.id for r in got] == ids.tolist()
    assert [r.content_score for r in got] == [float(s) for s in scores]
    assert all(math.isnan(r.cf_score) for r in got)
    assert got[0].score == 1.0 and all(a.score >= b.score for a, b in zip(got, got[1:]))
    stored = catalogue.vectors(history)
    for r in got:
        similarity = stored @ catalogue.vectors([r.id])[0]
        assert r.closest_history_id == history[int(np.argmax(similarity))]
        assert r.closest_similarity == pytest.approx(float(similarity.max()), abs=1e-6)
    excluded = recommender.recommend(profile, history, k=10, exclude=[ids[0]])
    assert excluded[0].id == ids[1]
    assert [r.id for r in recommender.recommend(profile, history, k=10, exclude=ids[0])] == [r.id for r in excluded]


def test_cf_scores_blend_into_the_ranking(shop):
    catalogue, knn, user, history, _, _ = shop
    recommender = embedrank.Recommender(catalogue, knn)
    assert recommender.cf is knn and recommender.catalogue is catalogue
    profile = recommender.profile_from_history(history)
    got = recommender.recommend(profile, history, cf_user=user, k=20, content_weight=0.5)
    assert len(got) == 20 and not {r.id for r in got} & set(history)
    with_cf = [r for r in got if not math.isnan(r.cf_score)]
    assert with_cf, "the CF model predicted none of the candidates"
    _, levels, _ = knn.predict_many([user] * len(with_cf), [r.id for r in with_cf], return_details=True)
    assert set(levels.tolist()) == {"neighbors"}
    for r in with_cf:
        assert r.cf_score == knn.predict(user, r.id)
        # the neighbours behind the score, most similar first
        assert 1 <= len(r.cf_neighbors) <= 3
        sims = [n.similarity for n in r.cf_neighbors]
        assert sims == sorted(sims, reverse=True) and all(s > 0 for s in sims)
        assert all(n.user_id != user for n in r.cf_neighbors)
    # content_weight 1: CF adds candidates but no score
    content = recommender.recommend(profile, history, cf_user=user, k=20, content_weight=1.0)
    assert all(a.content_score >= b.content_score for a, b in zip(content, content[1:]))
    # an unknown CF user: content only
    unknown = recommender.recommend(profile, history, cf_user="nobody", k=10)
    assert [r.id for r in unknown] == [r.id for r in embedrank.Recommender(catalogue).recommend(profile, history, k=10)]
    # diversified: still k distinct unseen items
    diverse = recommender.recommend(profile, history, cf_user=user, k=10, mmr_lambda=0.3)
    assert len({r.id for r in diverse}) == 10


@pytest.mark.parametrize("w", [0.3, 0.7])
def test_blend_is_the_documented_formula(shop, w):
    # blended = w * minmax(content) + (1 - w) * minmax(cf) over the candidates,
    # a CF score only where it came from neighbours (else 0); 200 candidates
    # take in every unseen item of the 200.
    catalogue, knn, user, history, item_ids, _ = shop
    recommender = embedrank.Recommender(catalogue, knn)
    profile = recommender.profile_from_history(history)
    unseen = [i for i in item_ids if i not in set(history)]
    content = catalogue.vectors(unseen).astype(np.float64) @ profile.astype(np.float64)
    values, levels, _ = knn.predict_many([user] * len(unseen), unseen, return_details=True)
    cf = np.where(levels == "neighbors", values, np.nan)
    assert np.count_nonzero(~np.isnan(cf)) >= 10

    def minmax(v):
        lo, hi = np.nanmin(v), np.nanmax(v)
        return np.nan_to_num((v - lo) / (hi - lo), nan=0.0)

    expected = dict(zip(unseen, w * minmax(content) + (1 - w) * minmax(cf)))
    got = recommender.recommend(profile, history, cf_user=user, k=len(unseen), content_weight=w, candidates=200)
    assert sorted(r.id for r in got) == sorted(unseen)
    for r in got:
        assert r.score == pytest.approx(expected[r.id], abs=1e-5), r.id
    # best first by the hand-computed blend (ties and near-ties within rounding aside)
    blended = [expected[r.id] for r in got]
    assert all(a >= b - 1e-5 for a, b in zip(blended, blended[1:]))
    top = max(expected, key=expected.get)
    assert got[0].id == top or expected[got[0].id] == pytest.approx(expected[top], abs=1e-5)


def test_bad_input_raises(shop):
    catalogue, knn, _, history, _, _ = shop
    recommender = embedrank.Recommender(catalogue, knn)
    profile = recommender.profile_from_history(history)
    cases = [
        (lambda: recommender.profile_from_history(["no-such-item"]), embedrank.InputError, r"input\.unknown_id"),
        (lambda: recommender.profile_from_history([]), embedrank.InputError, r"input\.empty_history"),
        (lambda: recommender.profile_from_history([(history[0], -1.0)]), embedrank.InputError,
         r"input\.bad_history_weight"),
        (lambda: recommender.profile_from_history([(history[0],)]), TypeError, "1 fields"),
        (lambda: recommender.profile_from_history([3.5]), TypeError, r"history\[0\] is float"),
        (lambda: recommender.recommend(profile[:8].copy(), history), embedrank.InputError, r"input\.dimension_mismatch"),
        (lambda: recommender.recommend(profile[None, :], history), embedrank.InputError, r"input\.bad_shape"),
        (lambda: recommender.recommend(profile.astype(np.float64), history), embedrank.InputError, r"input\.bad_dtype"),
        (lambda: recommender.recommend(profile, history, content_weight=2.0), embedrank.InputError,
         r"input\.bad_option"),
        (lambda: recommender.recommend(None, history), TypeError, "not None"),
        (lambda: embedrank.Recommender("catalogue"), TypeError, "must be an EmbeddingIndex"),
        (lambda: embedrank.Recommender(catalogue, cf="knn"), TypeError, "must be a UserKnn or None"),
    ]
    for call, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            call()


def test_error_hierarchy():
    for name, python_base in [("FileError", OSError), ("FormatError", ValueError), ("InputError", ValueError),
                              ("ParseError", ValueError)]:
        cls = getattr(embedrank, name)
        assert issubclass(cls, embedrank.Error) and issubclass(cls, python_base)
        assert cls.__module__ == "embedrank"
    assert issubclass(embedrank.Error, Exception)
    with pytest.raises(embedrank.Error) as info:
        embedrank.EmbeddingIndex(4).search(np.zeros(3, np.float32), 1)
    assert str(info.value).startswith("[embedrank." + info.value.id + "] ")
