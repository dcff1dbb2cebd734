#!/usr/bin/env python3
"""Writes the collaborative-filtering parity fixtures in tests/data/cf/.

A deterministic synthetic rating set (a few hundred users and items, 1-5
stars skewed towards 4 like MovieLens, popular and rare items, users with a
single rating, users whose ratings are all equal) is split into train and test
files; Surprise (scikit-surprise, the real library) fits KNNBasic,
KNNWithMeans and KNNWithZScore with user-based Pearson on the training file
and predicts every test pair. The C++ tests compare against these numbers.

Regenerate (needs a venv with scikit-surprise, e.g. /opt/cfenv):
    /opt/cfenv/bin/python weights_tools/make_cf_fixtures.py tests/data/cf

Files written:
    synthetic_train.tsv         user, item, rating, timestamp (tab separated, shuffled order)
    synthetic_test.tsv          same layout; includes unknown users and items
    surprise_predictions.tsv    config, k, min_k, min_support, algo, user, item, rating,
                                est (repr, unclipped), was_impossible, actual_k (-1 if absent)
    surprise_similarities.tsv   user, other user, Pearson similarity (Surprise's own
                                matrix) for every nonzero pair of the first 25 users
"""

import argparse
import os
import sys

import numpy as np

SEED = 20261122
NUM_USERS = 300
NUM_ITEMS = 200
TEST_FRACTION = 0.08

# (name, k, min_k, min_support): Surprise defaults, then settings that make
# min_k, min_support and ties at the k-th neighbour matter.
CONFIGS = [("default", 40, 1, 1), ("strict", 5, 3, 3), ("tiny_k", 2, 1, 2)]


def user_id(u):
    return str(1000 + 7 * u)


def item_id(i):
    return str(50000 + 3 * i)


def generate(rng):
    """Returns a list of (user index, item index, rating) triplets."""
    # Item popularity: Zipf-like, so a few items have many raters.
    popularity = 1.0 / (np.arange(NUM_ITEMS) + 8.0) ** 0.9
    popularity /= popularity.sum()
    item_order = rng.permutation(NUM_ITEMS)
    item_weights = np.empty(NUM_ITEMS)
    item_weights[item_order] = popularity

    # Activity: long-tailed; some users rate once, some rate everything the same.
    activity = np.clip(np.round(rng.lognormal(mean=3.0, sigma=0.7, size=NUM_USERS)), 2, 120).astype(int)
    single = rng.choice(NUM_USERS, size=20, replace=False)
    activity[single] = 1
    rest = np.setdiff1d(np.arange(NUM_USERS), single)
    flat = rng.choice(rest, size=12, replace=False)
    activity[flat] = rng.integers(3, 9, size=12)

    dim = 5
    user_bias = rng.normal(0.0, 0.45, NUM_USERS)
    item_bias = rng.normal(0.0, 0.45, NUM_ITEMS)
    p = rng.normal(0.0, 0.45, (NUM_USERS, dim))
    q = rng.normal(0.0, 0.45, (NUM_ITEMS, dim))

    triplets = []
    for u in range(NUM_USERS):
        items = rng.choice(NUM_ITEMS, size=activity[u], replace=False, p=item_weights)
        flat_value = int(rng.integers(2, 6))
        for i in items:
            if u in flat:
                r = flat_value
            else:
                score = 3.6 + user_bias[u] + item_bias[i] + p[u] @ q[i] + rng.normal(0.0, 0.6)
                r = int(np.clip(np.round(score), 1, 5))
            triplets.append((u, int(i), r))
    return triplets, set(int(x) for x in flat)


def write_tsv(path, rows, rng):
    with open(path, "w") as f:
        for u, i, r in rows:
            f.write(f"{u}\t{i}\t{r}\t{int(rng.integers(874724710, 893286638))}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    args = parser.parse_args()

    import surprise
    from surprise import Dataset, KNNBasic, KNNWithMeans, KNNWithZScore, Reader

    rng = np.random.default_rng(SEED)
    triplets, flat = generate(rng)
    order = rng.permutation(len(triplets))
    in_test = rng.random(len(triplets)) < TEST_FRACTION
    # Flat users keep all their ratings in train so their zero variance is seen.
    train = [triplets[k] for k in order if not in_test[k] or triplets[k][0] in flat]
    test = [triplets[k] for k in order if in_test[k] and triplets[k][0] not in flat]

    train_rows = [(user_id(u), item_id(i), r) for u, i, r in train]
    test_rows = [(user_id(u), item_id(i), r) for u, i, r in test]
    # Pairs nobody can predict from neighbours: unknown users, unknown items, both.
    test_rows += [("999991", item_id(i), 4) for i in (0, 1, 2)]
    test_rows += [(user_id(u), "777771", 3) for u in (0, 1, 2)]
    test_rows += [("999992", "777772", 5)]

    os.makedirs(args.out_dir, exist_ok=True)
    train_path = os.path.join(args.out_dir, "synthetic_train.tsv")
    test_path = os.path.join(args.out_dir, "synthetic_test.tsv")
    write_tsv(train_path, train_rows, rng)
    write_tsv(test_path, test_rows, rng)

    reader = Reader(line_format="user item rating timestamp", sep="\t", rating_scale=(1, 5))
    trainset = Dataset.load_from_file(train_path, reader=reader).build_full_trainset()
    testset = [(u, i, float(r)) for u, i, r in test_rows]

    algos = [("knn_basic", KNNBasic), ("knn_with_means", KNNWithMeans), ("knn_with_zscore", KNNWithZScore)]
    lines = [f"# scikit-surprise {surprise.__version__}, numpy {np.__version__}, seed {SEED}\n"]
    for name, k, min_k, min_support in CONFIGS:
        sim_options = {"name": "pearson", "user_based": True, "min_support": min_support}
        for algo_name, algo_class in algos:
            algo = algo_class(k=k, min_k=min_k, sim_options=sim_options, verbose=False)
            algo.fit(trainset)
            for u, i, r in testset:
                pred = algo.predict(u, i, r_ui=r, clip=False)
                impossible = int(pred.details["was_impossible"])
                actual_k = pred.details.get("actual_k", -1)
                lines.append(f"{name}\t{k}\t{min_k}\t{min_support}\t{algo_name}\t{u}\t{i}\t{r:g}\t"
                             f"{float(pred.est)!r}\t{impossible}\t{actual_k}\n")
    with open(os.path.join(args.out_dir, "surprise_predictions.tsv"), "w") as f:
        f.writelines(lines)

    sim = KNNBasic(sim_options={"name": "pearson", "user_based": True, "min_support": 1},
                   verbose=False).fit(trainset).sim
    with open(os.path.join(args.out_dir, "surprise_similarities.tsv"), "w") as f:
        f.write(f"# scikit-surprise {surprise.__version__}: user, other user, pearson (min_support 1)\n")
        for x in range(min(25, trainset.n_users)):
            for y in range(trainset.n_users):
                if x != y and sim[x, y] != 0.0:
                    f.write(f"{trainset.to_raw_uid(x)}\t{trainset.to_raw_uid(y)}\t{float(sim[x, y])!r}\n")

    print(f"wrote {len(train_rows)} train and {len(test_rows)} test ratings, "
          f"{len(lines) - 1} predictions to {args.out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
