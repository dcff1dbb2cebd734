"""embedrank: text embeddings, exact top-k search, user-kNN collaborative
filtering, classification heads and ranking, over the embedrank C++ library.

    >>> import embedrank
    >>> model = embedrank.Embedder("models/all-MiniLM-L6-v2.f32.bin")
    >>> vectors = model.encode(["red summer dress", "USB-C 65W charger"])  # (2, 384) float32
    >>> index = embedrank.EmbeddingIndex(model.dimension, metric="cosine")
    >>> index.add(["P1", "P2"], vectors)
    >>> ids, scores = index.search(model.encode("a dress for the beach"), k=1)

Errors from the library are embedrank.Error subclasses (FileError,
FormatError, InputError, ParseError) whose message starts with a stable id,
e.g. "[embedrank.input.bad_dtype]", also in their .id attribute. Text
options take the library's (and the command line's) names: enum_names()
lists them.
"""

from ._embedrank import (
    CfNeighbor,
    Embedder,
    EmbeddingIndex,
    Error,
    FileError,
    FormatError,
    InputError,
    ParseError,
    Recommended,
    Recommender,
    RerankedItem,
    SequenceClassifier,
    TokenClassifier,
    TokenEntity,
    UserKnn,
    enum_names,
    retrieve_then_rerank,
)

__version__ = "0.1.0"

__all__ = [
    "CfNeighbor",
    "Embedder",
    "EmbeddingIndex",
    "Error",
    "FileError",
    "FormatError",
    "InputError",
    "ParseError",
    "Recommended",
    "Recommender",
    "RerankedItem",
    "SequenceClassifier",
    "TokenClassifier",
    "TokenEntity",
    "UserKnn",
    "enum_names",
    "retrieve_then_rerank",
]
