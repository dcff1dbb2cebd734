"""embedrank: text embeddings, exact top-k search, user-kNN collaborative
filtering, classification heads and ranking, over the embedrank C++ library.

    >>> import embedrank
    >>> model = embedrank.Embedder("models/all-MiniLM-L6-v2.f32.bin")
    >>> vectors = model.encode(["red summer dress", "USB-C 65W charger"])  # (2, 384) float32
    >>> index = embedrank.EmbeddingIndex(model.dimension, metric="cosine")
    >>> index.add(["P1", "P2"], vectors)
    >>> ids, scores = index.search(model.encode("a dress for the beach"), k=1)

The shop over a live catalogue:

    >>> catalogue = embedrank.Catalogue.read(["catalogue.tsv", "attributes.tsv"])
    >>> guide = embedrank.ShoppingGuide(model, catalogue)
    >>> answer = guide.search("pacewell running shoes under 100", k=10)
    >>> guide.upsert([{"id": "P0046", "title": "...", "price": 19.99}])   # embeds only changed texts

Errors from the library are embedrank.Error subclasses (FileError,
FormatError, InputError, ParseError) whose message starts with a stable id,
e.g. "[embedrank.input.bad_dtype]", also in their .id attribute. Text
options take the library's (and the command line's) names: enum_names()
lists them.
"""

from ._embedrank import (
    Catalogue,
    CatalogueAttributes,
    CfNeighbor,
    Embedder,
    EmbeddingIndex,
    Error,
    FileError,
    FormatError,
    InputError,
    ParseError,
    ParsedQuery,
    Product,
    ProductChange,
    QueryAttribute,
    Recommended,
    Recommender,
    RerankedItem,
    SearchAnswer,
    SearchResult,
    SequenceClassifier,
    ShoppingGuide,
    TokenClassifier,
    TokenEntity,
    UpsertReport,
    UserKnn,
    enum_names,
    retrieve_then_rerank,)

__version__ = "0.1.0"

__all__ = [
    "Catalogue",
    "CatalogueAttributes",
    "CfNeighbor",
    "Embedder",
    "EmbeddingIndex",
    "Error",
    "FileError",
    "FormatError",
    "InputError",
    "ParseError",
    "ParsedQuery",
    "Product",
    "ProductChange",
    "QueryAttribute",
    "Recommended",
    "Recommender",
    "RerankedItem",
    "SearchAnswer",
    "SearchResult",
    "SequenceClassifier",
    "ShoppingGuide",
    "TokenClassifier",
    "TokenEntity",
    "UpsertReport",
    "UserKnn",
    "enum_names",
    "retrieve_then_rerank",
]
