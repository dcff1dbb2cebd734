"""Queries per second of embedrank's LexicalIndex (BM25) and Tantivy on the
same catalogue and the same analysed terms, at 1 and 2 threads.

Setup, once (matplotlib is needed for --plot only):
    python3 -m venv .venv-peers && .venv-peers/bin/pip install tantivy==0.27.0 matplotlib
    cmake -S . -B build -DEMBEDRANK_BUILD_BENCHMARKS=ON -DPython3_EXECUTABLE=/usr/bin/python3
    cmake --build build -j1 --target bench_lexical_qps
Run, from the repository root, on an otherwise idle machine:
    .venv-peers/bin/python bench/lexical_peers.py --products 1000000 --k 10 \\
        --seconds 5 --rounds 3 --plot lexical-peers.png

What it does:
1. build/bin/bench_lexical_qps generates the catalogue of
   bench/lexical_corpus.hpp, indexes it, writes every product's analysed
   terms, the queries' terms and its own top k (--write-terms, into a
   temporary directory) and measures its qps, rounds interleaving 1 and 2
   threads; nothing else runs meanwhile (this script waits).
2. Tantivy indexes the same terms: title and description text fields with
   the "whitespace" tokenizer (splits at ASCII whitespace, keeps case: no
   lowercasing or stemming, so its terms are embedrank's), frequencies
   without positions (embedrank keeps none), one indexing thread, one
   commit. A query is a BooleanQuery of SHOULD term queries over both fields,
   boosts title 2.0 and description 1.0, each distinct term once (embedrank
   counts a repeated query term once); Tantivy's BM25 is Lucene's, k1 = 1.2,
   b = 0.75. Queries are built once, before timing, as embedrank's terms are
   analysed once; searcher.search(query, k, count=False) is timed (embedrank
   does not count matches either). Tantivy is timed through its Python
   binding, about 1.5 us a call (an empty query's time) that embedrank,
   timed in C++, does not pay. The binding puts TopDocs inside a
   MultiCollector, whose per-segment loop visits every match: Tantivy's
   block-max WAND (its pruning for top k in Rust) is not used from Python,
   so this is Tantivy's exhaustive disjunction, not its best case in Rust
   (and k barely changes its speed), against embedrank's pruned search.
3. Agreement on every query: overlap of the top-10 sets, and the scores of
   rows both return. Tantivy's scores carry Lucene < 8's (k1 + 1) factor,
   so they are divided by 2.2 before comparing; Tantivy computes in float32
   and stores a field's length in one byte (exact up to 40 terms, then
   rounded down to 42, 44, ..., 56, 60, ...), so small differences remain.
4. Tantivy's qps, rounds interleaving 1 and 2 threads as for embedrank.
   searcher.search releases the GIL (checked below, on every run: a pure
   Python loop keeps running while one long search runs in another thread),
   so the 2-thread figure is two Python threads on one searcher. Should a
   Tantivy version hold the GIL, the script stops rather than report it.

Each measurement is printed as a JSON line, like bench_lexical_qps's, then a
table of medians. "cores" is the process's CPU seconds / wall seconds during
a measurement: below the thread count, the threads did not each have a core
(a busy machine), and the script warns. Figures are only as good as the
machine is quiet.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import tantivy

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "build", "bin", "bench_lexical_qps")
THREADS = (1, 2)
FIELDS = (("title", 2.0), ("description", 1.0))  # embedrank's default fields and weights
K1 = 1.2  # Tantivy's BM25 scores = (k1 + 1) * Lucene >= 8's (embedrank's)
TOP = 10  # the overlap is of the top-10 sets (of the top k when k < 10)
EXACT_FIELDNORM = 40  # Tantivy stores field lengths up to 40 exactly


def read_lines(path):
    """The lines of a UTF-8 file written by bench_lexical_qps: split at
    '\\n' only (str.splitlines would also split at U+2028 and the like)."""
    with open(path, encoding="utf-8", newline="\n") as f:
        return [line[:-1] if line.endswith("\n") else line for line in f]


def run_embedrank(args, terms_dir):
    """bench_lexical_qps's medians ({threads: (qps, cores)}), its
    measurements printed; it also fills terms_dir."""
    if not os.access(BENCH, os.X_OK):
        sys.exit(f"{BENCH} not found: build it first (see this script's docstring)")
    command = [BENCH, "--products", str(args.products), "--queries", str(args.queries), "--k", str(args.k),
               "--threads", ",".join(map(str, THREADS)), "--seconds", str(args.seconds),
               "--rounds", str(args.rounds), "--write-terms", terms_dir]
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"bench_lexical_qps failed with status {done.returncode}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    for row in rows:
        if "qps" in row:
            print(json.dumps(row, separators=(",", ":")), flush=True)
    return {row["threads"]: (row["median_qps"], row["median_cores"]) for row in rows if "median_qps" in row}


def build_tantivy(titles, descriptions, index_dir):
    """A Tantivy index over the analysed terms (one line of terms per
    product and field), row numbers in a fast field."""
    builder = tantivy.SchemaBuilder()
    for name, _ in FIELDS:
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    builder.add_integer_field("row", fast=True)
    index = tantivy.Index(builder.build(), path=index_dir)
    start = time.perf_counter()
    # one indexing thread with a large budget: one segment, documents in row order
    writer = index.writer(heap_size=3_000_000_000, num_threads=1)
    for row, (title, description) in enumerate(zip(titles, descriptions)):
        writer.add_document(tantivy.Document(title=title, description=description, row=row))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    print(f"tantivy: indexed {searcher.num_docs} products in {time.perf_counter() - start:.1f} s, "
          f"{searcher.num_segments} segment(s)", file=sys.stderr, flush=True)
    return index


def split_terms(line):
    return line.split(" ") if line else []


def tantivy_query(schema, terms):
    """SHOULD term queries over both fields, boosted by field weight; each
    distinct term once."""
    clauses = []
    for term in dict.fromkeys(terms):
        for name, weight in FIELDS:
            query = tantivy.Query.term_query(schema, name, term, index_option="freq")
            if weight != 1.0:
                query = tantivy.Query.boost_query(query, weight)
            clauses.append((tantivy.Occur.Should, query))
    return tantivy.Query.boolean_query(clauses)


def gil_check(searcher, query):
    """Whether searcher.search lets other Python threads run: one long
    search (count=True visits every match) in a thread, while this thread
    notes its longest stall. Returns (released or None if inconclusive,
    search seconds, longest stall seconds)."""
    start = time.perf_counter()
    searcher.search(query, 10, count=True)
    alone = time.perf_counter() - start
    worker = threading.Thread(target=lambda: [searcher.search(query, 10, count=True) for _ in range(3)])
    last = time.perf_counter()
    stall = 0.0
    worker.start()
    while worker.is_alive():
        now = time.perf_counter()
        stall = max(stall, now - last)
        last = now
    worker.join()
    if alone < 0.02:  # shorter than a few GIL switch intervals (5 ms): cannot tell
        return None, alone, stall
    return stall < alone / 2, alone, stall


def measure_tantivy_qps(searcher, queries, k, threads, seconds):
    """Queries per second of `threads` Python threads on one searcher, each
    looping over the queries from its own offset (the sum of their rates),
    and the cores they had (CPU seconds / wall seconds), as bench_lexical_qps."""
    stop = threading.Event()
    rates = [0.0] * threads
    cpu_start = time.process_time()
    start = time.perf_counter()

    def loop(t):
        i, answered = t * len(queries) // threads, 0
        while not stop.is_set():
            searcher.search(queries[i], k, count=False)
            answered += 1
            i = i + 1 if i + 1 < len(queries) else 0
        rates[t] = answered / (time.perf_counter() - start)

    pool = [threading.Thread(target=loop, args=(t,)) for t in range(threads)]
    for worker in pool:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in pool:
        worker.join()
    return sum(rates), (time.process_time() - cpu_start) / (time.perf_counter() - start)


def read_results(path):
    """results.tsv: {query: [(row, score), ...] best first}."""
    results = {}
    for line in read_lines(path):
        q, rank, row, score = line.split("\t")
        hits = results.setdefault(int(q), [])
        if int(rank) != len(hits):
            sys.exit(f"{path}: ranks of query {q} out of order")
        hits.append((int(row), float(score)))
    return results


def only_ties_at_cut(hits, only, top):
    """Whether every row of `only` among the top of `hits` ([(row, score)],
    best first) scores as the last row kept, within float32 rounding: then a
    tie decided differently explains why the other engine has another row."""
    if len(hits) < top:
        return False
    cut = hits[top - 1][1]
    return all(abs(score - cut) <= 1e-5 * cut for row, score in hits[:top] if row in only)


def agreement(searcher, queries, k, embedrank_results, lengths):
    """Top-10 overlap and score differences of Tantivy against embedrank,
    over every query; Tantivy's scores divided by k1 + 1 first."""
    top = min(TOP, k)
    overlaps, tie_at_cut, other = [], 0, []
    ratios = []
    diffs = []  # (relative score difference, query, row) for the rows both return
    for q, query in enumerate(queries):
        hits = searcher.search(query, k, count=False).hits
        rows = searcher.fast_field_values("row", [address for _, address in hits])
        tv = [(row, score / (1 + K1)) for (score, _), row in zip(hits, rows)]
        er = embedrank_results.get(q, [])
        er_top, tv_top = {row for row, _ in er[:top]}, {row for row, _ in tv[:top]}
        overlaps.append(len(er_top & tv_top) / max(len(er_top), len(tv_top)) if er_top or tv_top else 1.0)
        if er_top != tv_top:
            if only_ties_at_cut(er, er_top - tv_top, top) and only_ties_at_cut(tv, tv_top - er_top, top):
                tie_at_cut += 1
            else:
                other.append(q)
        er_score = dict(er)
        for row, score in tv:
            if row in er_score:
                ratios.append(score * (1 + K1) / er_score[row])
                diffs.append((abs(score - er_score[row]) / er_score[row], q, row))
    # Tantivy stores a field's length exactly up to 40 terms: beyond, its
    # rounded length shifts the score; within, only float32 rounding remains
    exact = [d for d in diffs if max(lengths[d[2]]) <= EXACT_FIELDNORM]
    rounded = [d for d in diffs if max(lengths[d[2]]) > EXACT_FIELDNORM]
    worst = max(diffs, default=(0.0, None, None))
    return {
        "top": top,
        "queries": len(overlaps),
        "mean_overlap": statistics.fmean(overlaps),
        "queries_identical": sum(1 for o in overlaps if o == 1.0),
        "queries_differing_in_ties_at_cut": tie_at_cut,
        "queries_differing_otherwise": other,
        "rows_compared": len(diffs),
        "median_score_ratio": statistics.median(ratios) if ratios else None,
        "max_rel_score_diff": worst[0],
        "max_rel_score_diff_at": {"query": worst[1], "row": worst[2], "field_lengths": lengths[worst[2]]}
        if worst[2] is not None else None,
        "max_rel_score_diff_fields_up_to_40": max((d[0] for d in exact), default=0.0),
        "rows_with_a_field_over_40": len(rounded),
        "of_which_diff_above_1e-5": sum(1 for d in rounded if d[0] > 1e-5),
    }


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def plot(path, medians, products, k):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    engines = list(medians)
    width = 0.8 / len(engines)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for e, engine in enumerate(engines):
        xs = [i + (e - (len(engines) - 1) / 2) * width for i in range(len(THREADS))]
        values = [medians[engine].get(t, 0.0) for t in THREADS]
        bars = ax.bar(xs, values, width, label=engine)
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=8, padding=2)
    ax.set_xticks(range(len(THREADS)), [f"{t} thread{'s' if t > 1 else ''}" for t in THREADS])
    ax.set_ylabel("queries per second (median)")
    ax.set_title(f"BM25 top {k} over {products:,} products\n{cpu_model()}", fontsize=10)
    ax.legend()
    ax.margins(y=0.12)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    print(f"wrote {path}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=1000000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plot", metavar="FILE", help="a grouped bar chart of the medians (PNG)")
    args = parser.parse_args()
    if min(args.products, args.queries, args.k, args.rounds) < 1 or not args.seconds > 0:
        parser.error("--products, --queries, --k, --rounds must be >= 1 and --seconds > 0")

    work = tempfile.mkdtemp(prefix="lexical-peers-")
    try:
        terms_dir = os.path.join(work, "terms")
        medians = {"embedrank": run_embedrank(args, terms_dir)}

        titles, descriptions, query_lines = (read_lines(os.path.join(terms_dir, name))
                                             for name in ("title.txt", "description.txt", "queries.txt"))
        if len(titles) != len(descriptions):
            sys.exit(f"title.txt has {len(titles)} lines, description.txt {len(descriptions)}")
        lengths = [(len(split_terms(t)), len(split_terms(d))) for t, d in zip(titles, descriptions)]
        index_dir = os.path.join(work, "tantivy")
        os.mkdir(index_dir)
        index = build_tantivy(titles, descriptions, index_dir)
        searcher = index.searcher()
        schema = index.schema
        queries = [tantivy_query(schema, split_terms(line)) for line in query_lines]

        # the GIL check's long search: the terms of the queries and of the first products
        heavy = {t for line in query_lines for t in split_terms(line)}
        for title, description in zip(titles, descriptions):
            if len(heavy) >= 5000:
                break
            heavy.update(split_terms(title) + split_terms(description))
        del titles, descriptions
        released, alone, stall = gil_check(searcher, tantivy_query(schema, sorted(heavy)))
        print(json.dumps({"gil_check": {"released": released, "search_s": round(alone, 4),
                                        "longest_stall_s": round(stall, 4)}}), flush=True)
        if released is False:
            sys.exit("tantivy's searcher.search holds the GIL: 2 Python threads would not search in parallel")

        agreed = agreement(searcher, queries, args.k, read_results(os.path.join(terms_dir, "results.tsv")), lengths)
        print(json.dumps({"agreement": agreed}), flush=True)

        # Tantivy's rounds, interleaved as embedrank's were
        measured = {t: [] for t in THREADS}
        for r in range(args.rounds):
            for t in THREADS:
                qps, cores = measure_tantivy_qps(searcher, queries, args.k, t, args.seconds)
                measured[t].append((qps, cores))
                print(json.dumps({"engine": "tantivy", "threads": t, "k": args.k, "products": args.products,
                                  "round": r, "qps": round(qps, 1), "cores": round(cores, 2)},
                                 separators=(",", ":")), flush=True)
        medians["tantivy"] = {t: (statistics.median(q for q, _ in v), statistics.median(c for _, c in v))
                              for t, v in measured.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.products:,} products, top {args.k}, {args.queries} queries, "
          f"{args.rounds} round(s) of {args.seconds:g} s; {cpu_model()}")
    print(f"{'engine':<10} {'threads':>7} {'median qps':>11} {'/ tantivy':>10} {'/ 1 thread':>11} {'cores':>6}")
    short = []
    for engine, by_threads in medians.items():
        for t in THREADS:
            qps, cores = by_threads[t]
            print(f"{engine:<10} {t:>7} {qps:>11,.0f} {qps / medians['tantivy'][t][0]:>10.2f} "
                  f"{qps / by_threads[THREADS[0]][0]:>11.2f} {cores:>6.2f}")
            if cores < 0.9 * t:
                short.append(f"{engine} at {t} thread(s) had {cores:.2f} cores")
    print(f"top-{agreed['top']} overlap {agreed['mean_overlap']:.4f}: {agreed['queries_identical']} of "
          f"{agreed['queries']} queries identical, {agreed['queries_differing_in_ties_at_cut']} differ only in "
          f"rows tied at the cut, {len(agreed['queries_differing_otherwise'])} otherwise")
    print(f"scores of the {agreed['rows_compared']} rows both return: tantivy / embedrank = "
          f"{agreed['median_score_ratio'] or float('nan'):.6f} (median; k1 + 1 = {1 + K1}); after dividing by "
          f"{1 + K1}, max relative difference {agreed['max_rel_score_diff']:.2e}, "
          f"{agreed['max_rel_score_diff_fields_up_to_40']:.2e} where both fields have <= {EXACT_FIELDNORM} terms")
    if short:
        print("warning: the machine was busy, " + "; ".join(short) + ": these figures understate those threads")
    if args.plot:
        plot(args.plot, {engine: {t: qps for t, (qps, _) in v.items()} for engine, v in medians.items()},
             args.products, args.k)


if __name__ == "__main__":
    main()
