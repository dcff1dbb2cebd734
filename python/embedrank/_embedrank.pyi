"""Type stubs of the extension module embedrank._embedrank (pybind11)."""

import os
from typing import Any, Callable, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

Id = Union[str, int, np.integer]
Ids = Union[Sequence[Id], npt.NDArray[Any]]
FloatArray = npt.NDArray[np.float32]
HistoryEntry = Union[Id, Tuple[Id, float], Tuple[Id, float, float]]
Pair = Union[Tuple[str, str], Sequence[str]]

# The names each text option takes: the library's tables (core/enum_text.hpp),
# every spelling the command line takes; the first name of a value is the one
# printed back (enum_names() gives them at run time).
Metric = Literal["inner_product", "ip", "cosine"]
Storage = Literal["float32", "f32", "float16", "f16"]
KnnAlgorithm = Literal["knn_basic", "knn_with_means", "knn_with_zscore"]
PearsonMean = Literal["co_rated", "user"]
Shrinkage = Literal["none", "n_minus_one", "n", "capped"]
NeighborOrder = Literal["by_user_index", "surprise"]
FallbackPolicy = Literal["chain", "global_mean"]
DuplicatePolicy = Literal["last_wins", "error"]
Aggregation = Literal["none", "simple", "first", "average", "max"]

def enum_names() -> Dict[str, Tuple[str, ...]]:
    """Every text option and the names it takes, from the library's own tables:
    {"metric": ("inner_product", "ip", "cosine"), "algorithm": (...), ...}.
    Also "prediction_level", the names UserKnn.predict_many reports."""

class Error(Exception):
    """Base of every embedrank error. str(e) starts with "[embedrank.<id>]"."""

    id: str
    """The stable dotted id, e.g. "input.bad_dtype"; safe to match on."""

class FileError(Error, OSError):
    """A file could not be opened, read, mapped or written."""

class FormatError(Error, ValueError):
    """A model file or other binary file is malformed."""

class InputError(Error, ValueError):
    """An invalid argument: wrong dimension, dtype, shape or layout, unknown id or option."""

class ParseError(Error, ValueError):
    """A text data file has a malformed line."""

class Embedder:
    """Text in, sentence embeddings out, from one model file (tokenizer + encoder + pooling)."""

    def __init__(self, path: str, threads: int = 0) -> None:
        """Opens a model file written by weights_tools/convert.py; threads: encoder threads at most, taken from the process's one pool (0: every CPU; 1: the calling thread)."""
    @overload
    def encode(
        self,
        texts: str,
        batch_size: int = 32,
        normalize_embeddings: Optional[bool] = None,
        show_progress_bar: bool = False,
        prompt_name: Optional[str] = None,
        prompt: Optional[str] = None,
        chunk_stride: int = 0,
    ) -> FloatArray:
        """One text: its embedding, float32 (D,)."""
    @overload
    def encode(
        self,
        texts: Iterable[str],
        batch_size: int = 32,
        normalize_embeddings: Optional[bool] = None,
        show_progress_bar: bool = False,
        prompt_name: Optional[str] = None,
        prompt: Optional[str] = None,
        chunk_stride: int = 0,
    ) -> FloatArray:
        """Embeddings of the texts, float32 (N, D), as SentenceTransformer.encode computes them.

        normalize_embeddings: None keeps the model's own setting. prompt_name:
        None uses the model's default prompt, "" none. chunk_stride > 0 embeds
        a text longer than max_seq_length as windows that many tokens apart
        instead of truncating it. The result does not depend on batch_size
        or the thread count, bit for bit.
        """
    def tokenize(self, texts: Union[str, Iterable[str]]) -> Dict[str, npt.NDArray[np.int64]]:
        """input_ids, attention_mask, token_type_ids (N, T) and offsets (N, T, 2).

        As sentence-transformers' tokenize(): preprocessed, truncated to
        max_seq_length, padded to the longest text with id 0 and mask 0.
        Offsets are [begin, end) in characters of preprocess(text), (0, 0)
        for special tokens and padding.
        """
    def preprocess(self, text: str) -> str:
        """The text as the tokenizer sees it: stripped, lowercased when the model says do_lower_case."""
    @property
    def dimension(self) -> int: ...
    @property
    def max_seq_length(self) -> int: ...
    @property
    def prompts(self) -> Dict[str, str]: ...
    @property
    def default_prompt_name(self) -> Optional[str]: ...
    @property
    def normalize_embeddings(self) -> bool: ...
    @property
    def path(self) -> str: ...
    @property
    def threads(self) -> int: ...

class EmbeddingIndex:
    """Exact top-k over item vectors; ties by score are broken by insertion order.

    Ids come back as int64 when every id in the index was given as an int
    (after load: when every id reads as one), else as str.
    """

    def __init__(
        self,
        dim: int,
        metric: Metric = "inner_product",
        storage: Storage = "float32",
        threads: int = 0,
    ) -> None:
        """An empty index; metric and storage take embedrank-search's --metric and --storage names."""
    def add(self, ids: Union[Id, Ids], vectors: FloatArray) -> None:
        """Adds vectors (N, D), float32 and C-contiguous (read in place), under N new ids."""
    @overload
    def remove(self, ids: Id) -> bool: ...
    @overload
    def remove(self, ids: Ids) -> int: ...
    def search(
        self, queries: FloatArray, k: int, exclude: Optional[Union[Id, Ids]] = None
    ) -> Tuple[npt.NDArray[Any], FloatArray]:
        """(ids, scores) of the k best items, best first: (Q, k') for queries (Q, D), (k',) for one (D,).

        k' = min(k, eligible items); a query with fewer results (NaN scores)
        is padded with id None (or -1 for int ids) and score NaN.
        """
    def compact(self) -> None: ...
    def save(self, vectors_path: str, ids_path: str) -> None:
        """Writes the live items: (N, D) float32 .npy and one id per line (the C++ index's files)."""
    @staticmethod
    def load(
        vectors_path: str,
        ids_path: Optional[str] = None,
        metric: Metric = "inner_product",
        storage: Storage = "float32",
        threads: int = 0,
    ) -> "EmbeddingIndex":
        """An index of the (N, D) float32 .npy's rows, ids one per line (default: the row numbers)."""
    def vectors(self, ids: Ids) -> FloatArray:
        """The stored vectors (N, D) of ids, as scored (normalised for cosine)."""
    @property
    def dim(self) -> int: ...
    @property
    def metric(self) -> Literal["inner_product", "cosine"]: ...
    @property
    def storage(self) -> Literal["float32", "float16"]: ...
    def __len__(self) -> int: ...
    def __contains__(self, id: object) -> bool: ...

class UserKnn:
    """Pearson user-kNN rating prediction (KNNBasic / KNNWithMeans / KNNWithZScore)."""

    def __init__(
        self,
        algorithm: KnnAlgorithm = "knn_with_means",
        k: int = 40,
        min_k: int = 1,
        min_support: int = 1,
        mean: PearsonMean = "co_rated",
        shrinkage: Shrinkage = "n_minus_one",
        shrinkage_lambda: float = 100.0,
        max_neighbors: int = 200,
        order: NeighborOrder = "by_user_index",
        fallback: FallbackPolicy = "chain",
        clip: Optional[bool] = None,
        surprise_compatible: bool = False,
        threads: int = 0,
    ) -> None:
        """embedrank-cf's options under its names (--algo, --mean, ...).

        surprise_compatible=True gives Surprise 1.1's predictions (algorithm,
        k, min_k, min_support kept). clip: predictions clipped to the training
        ratings' range; None means True, or False with surprise_compatible
        (Surprise's predict(clip=False)).
        """
    def fit(
        self,
        users: Any,
        items: Optional[Ids] = None,
        ratings: Optional[Union[Sequence[float], npt.NDArray[Any]]] = None,
        *,
        user_col: str = "user",
        item_col: str = "item",
        rating_col: str = "rating",
        duplicates: DuplicatePolicy = "last_wins",
    ) -> "UserKnn":
        """Fits on (users, items, ratings) arrays or a pandas DataFrame with those columns; returns self."""
    @overload
    def predict(self, user: Id, item: Id, return_details: Literal[False] = False) -> float: ...
    @overload
    def predict(self, user: Id, item: Id, return_details: Literal[True]) -> Tuple[float, Dict[str, Any]]:
        """Predicted rating; unknown users or items (or too few neighbours) fall back to a mean.

        return_details=True: (rating, details), details["was_impossible"] True for a
        fallback (as Surprise's), "reason", "level" and "actual_k".
        """
    @overload
    def predict_many(self, users: Ids, items: Ids, return_details: Literal[False] = False) -> npt.NDArray[np.float64]: ...
    @overload
    def predict_many(
        self, users: Ids, items: Ids, return_details: Literal[True]
    ) -> Tuple[npt.NDArray[np.float64], npt.NDArray[Any], npt.NDArray[np.int32]]: ...
    @overload
    def recommend(
        self, user: Id, n: int = 10, return_details: Literal[False] = False
    ) -> Tuple[npt.NDArray[Any], npt.NDArray[np.float64]]: ...
    @overload
    def recommend(
        self, user: Id, n: int, return_details: Literal[True]
    ) -> Tuple[npt.NDArray[Any], npt.NDArray[np.float64], Dict[str, Any]]:
        """(items, scores) of the n best unseen items by neighbour prediction.

        Empty for n = 0 and for an unknown user; return_details=True adds
        details, details["was_impossible"] True for an unknown user.
        """
    @property
    def num_users(self) -> int: ...
    @property
    def num_items(self) -> int: ...
    @property
    def fitted(self) -> bool: ...
    @property
    def algorithm(self) -> str:
        """The algorithm's name, e.g. "knn_with_means"; mean, shrinkage, order and fallback likewise."""
    @property
    def mean(self) -> str: ...
    @property
    def shrinkage(self) -> str: ...
    @property
    def order(self) -> str: ...
    @property
    def fallback(self) -> str: ...

class CfNeighbor:
    """A user similar to the one recommended for, who rated the item."""

    @property
    def user_id(self) -> str: ...
    @property
    def similarity(self) -> float: ...
    @property
    def rating(self) -> float: ...

class Recommended:
    """One recommendation and why."""

    @property
    def id(self) -> str: ...
    @property
    def row(self) -> int: ...
    @property
    def score(self) -> float: ...
    @property
    def content_score(self) -> float: ...
    @property
    def cf_score(self) -> float:
        """The CF model's predicted rating, NaN when it had none."""
    @property
    def closest_history_id(self) -> str: ...
    @property
    def closest_similarity(self) -> float: ...
    @property
    def cf_neighbors(self) -> List[CfNeighbor]:
        """The most similar users behind cf_score (user_id, similarity, their rating), most similar first."""

class Recommender:
    """Personalised top-k over a catalogue: content scores blended with CF, history excluded, explained."""

    def __init__(self, catalogue: EmbeddingIndex, cf: Optional[UserKnn] = None) -> None: ...
    def profile_from_history(
        self, history: Union[Sequence[HistoryEntry], Mapping[Id, float]], recency_half_life: float = 0.0
    ) -> FloatArray:
        """Weighted mean of the history items' vectors, L2-normalised, float32 (D,)."""
    def recommend(
        self,
        profile: FloatArray,
        history: Optional[Union[Sequence[HistoryEntry], Mapping[Id, float]]] = None,
        cf_user: Optional[Id] = None,
        k: int = 10,
        content_weight: float = 0.3,
        candidates: int = 200,
        mmr_lambda: float = 1.0,
        exclude: Optional[Ids] = None,
    ) -> list[Recommended]:
        """The k best unseen items for profile (D,), blended with the CF model's predictions for cf_user."""
    @property
    def catalogue(self) -> EmbeddingIndex: ...
    @property
    def cf(self) -> Optional[UserKnn]: ...

class SequenceClassifier:
    """A sequence-classification head (a *ForSequenceClassification checkpoint or a CrossEncoder).

    N = texts or pairs, NL = labels. Scores are float32 as the C++ library
    computes them; one str (or one (str, str) pair) gives (NL,) instead of (N, NL).
    """

    def __init__(self, path: str, threads: int = 0) -> None:
        """Opens a converted classifier file; FormatError "format.no_head" when it has no such head."""
    @overload
    def logits(self, texts: str, batch_size: int = 32) -> FloatArray: ...
    @overload
    def logits(self, texts: Iterable[str], batch_size: int = 32) -> FloatArray:
        """Logits (N, NL) of single texts."""
    @overload
    def pair_logits(self, pairs: Tuple[str, str], batch_size: int = 32) -> FloatArray: ...
    @overload
    def pair_logits(self, pairs: Iterable[Pair], batch_size: int = 32) -> FloatArray:
        """Logits (N, NL) of (first, second) pairs: [CLS] first [SEP] second [SEP]."""
    @overload
    def predict(self, pairs: Tuple[str, str], batch_size: int = 32) -> FloatArray: ...
    @overload
    def predict(self, pairs: Iterable[Pair], batch_size: int = 32) -> FloatArray:
        """CrossEncoder.predict: the pair logits through the model's activation (N, NL)."""
    @overload
    def classify(self, texts: str, batch_size: int = 32) -> FloatArray: ...
    @overload
    def classify(self, texts: Iterable[str], batch_size: int = 32) -> FloatArray:
        """The text-classification pipeline's score per label (N, NL), in label order.

        Softmax over the labels; a sigmoid per label for multi-label models or
        a single logit; the logit itself for regression.
        """
    def ranked_labels(self, scores: FloatArray, top_k: Optional[int] = None) -> Any:
        """[(label, score), ...] best first (ties in label order) per row of classify() scores.

        A list of lists for (N, NL), one list for (NL,).
        """
    @property
    def labels(self) -> List[str]: ...
    @property
    def max_seq_length(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def threads(self) -> int: ...

class TokenEntity:
    """A labelled span: [begin, end) in characters, [byte_begin, byte_end) in UTF-8 bytes, and its text."""

    @property
    def label(self) -> str:
        """The token's label (aggregation "none") or the entity type without B-/I- (the others)."""
    @property
    def score(self) -> float: ...
    @property
    def begin(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def byte_begin(self) -> int: ...
    @property
    def byte_end(self) -> int: ...
    @property
    def text(self) -> str: ...

class TokenClassifier:
    """A label per token (a *ForTokenClassification checkpoint) and the pipeline's entity spans."""

    def __init__(self, path: str, threads: int = 0) -> None:
        """Opens a converted token classifier file; FormatError "format.no_head" when it has no such head."""
    def token_logits(self, text: str) -> Dict[str, npt.NDArray[Any]]:
        """input_ids, special_tokens_mask (T,), offsets (T, 2) as int64 and logits float32 (T, NL).

        The text is truncated to the model's max_seq_length; offsets are in
        characters, (0, 0) for special tokens.
        """
    @overload
    def entities(self, texts: str, aggregation: Aggregation = "simple", stride: int = 0) -> List[TokenEntity]: ...
    @overload
    def entities(
        self, texts: Iterable[str], aggregation: Aggregation = "simple", stride: int = 0
    ) -> List[List[TokenEntity]]:
        """The token-classification pipeline's entities with that aggregation_strategy.

        stride > 0 reads a text longer than the model's window in windows
        sharing stride tokens (not with aggregation "none"); stride 0
        truncates it.
        """
    @property
    def labels(self) -> List[str]: ...
    @property
    def path(self) -> str: ...
    @property
    def threads(self) -> int: ...

class RerankedItem:
    """One reranked item and its scores."""

    @property
    def id(self) -> str:
        """The item id as text (as Recommended.id)."""
    @property
    def retrieval_score(self) -> float: ...
    @property
    def rerank_score(self) -> float: ...
    @property
    def boost(self) -> float: ...
    @property
    def score(self) -> float:
        """rerank_score, or (1 - w) * rerank_score + w * boost with boost_weight w > 0."""
    @property
    def retrieval_rank(self) -> int: ...

def retrieve_then_rerank(
    index: EmbeddingIndex,
    query_vector: FloatArray,
    query_text: str,
    texts: Union[Mapping[Any, str], Callable[[Any], str]],
    scorer: Union[SequenceClassifier, Callable[[str, List[str]], Sequence[float]]],
    *,
    candidates: int = 100,
    k: int = 10,
    batch_size: int = 32,
    boost: Optional[Union[Mapping[Any, float], Callable[[Any], float]]] = None,
    boost_weight: float = 0.0,
    exclude: Optional[Union[Id, Ids]] = None,
) -> List[RerankedItem]:
    """The index's top `candidates` for query_vector (D,), rescored by the scorer, the top k best first.

    score = rerank_score, or (1 - w) * rerank_score + w * boost(id) with
    boost_weight w > 0; ties keep the retrieval order. A SequenceClassifier
    scorer (one label) scores in C++ with the GIL released; a callable gets
    (query_text, [texts]) and returns one number per text (as float32). Ids
    reach texts and boost as int when the index's ids are all ints, else as
    str; a boost mapping gives 0 for an id it lacks.
    """


class Product:
    """One catalogue item; every field but the id may be empty (price None)."""
    id: str
    title: str
    description: str
    category: str
    brand: str
    colour: str
    price: Optional[float]
    attributes: Dict[str, str]
    def __init__(self, id: Union[str, int], title: str = "", description: str = "", category: str = "",
                 brand: str = "", colour: str = "", price: Optional[float] = None,
                 attributes: Dict[str, str] = ...) -> None: ...

ProductLike = Union[Product, Dict[str, object]]

class ProductChange:
    """What an upsert did to one product."""
    row: int
    added: bool
    text_changed: bool
    attributes_changed: bool

class Catalogue:
    """The one owner of product identity: ids -> stable rows, columns, the text to embed."""
    def __init__(self, text_template: str = "{title}. {description}") -> None: ...
    @staticmethod
    def read(paths: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]],
             text_template: str = "{title}. {description}") -> "Catalogue":
        """TSV, CSV or JSON Lines by extension; later files joined by id. ParseError names file, line, column."""
    def __len__(self) -> int: ...
    def __contains__(self, id: str) -> bool: ...
    @property
    def rows(self) -> int: ...
    def row_of(self, id: str) -> int: ...
    def product(self, id: str) -> Product: ...
    def product_at(self, row: int) -> Product: ...
    def removed(self, row: int) -> bool: ...
    def text(self, row: int) -> str: ...
    def live_rows(self) -> List[int]: ...
    def upsert(self, products: Union[ProductLike, Sequence[ProductLike]]) -> List[ProductChange]: ...
    def remove(self, ids: Sequence[str]) -> List[int]: ...
    def compact(self) -> List[int]: ...

class QueryAttribute:
    """One attribute found in a query: a typed span (characters and bytes)."""
    name: str
    value: str
    begin: int
    end: int
    byte_begin: int
    byte_end: int

class ParsedQuery:
    attributes: List[QueryAttribute]
    price: Tuple[float, float]
    search_text: str

class SearchResult:
    id: str
    score: float
    row: int

class SearchAnswer:
    query: ParsedQuery
    results: List[SearchResult]

class UpsertReport:
    added: int
    updated: int
    embedded: int
    changes: List[ProductChange]

class CatalogueAttributes:
    """Query understanding from the catalogue's own values, by catalogue row."""
    def __init__(self) -> None: ...
    def add(self, row: int, attribute: str, value: str) -> None: ...
    def set_price(self, row: int, price: float) -> None: ...
    def clear(self, row: int) -> None: ...
    def price(self, row: int) -> float: ...
    def parse(self, query: str) -> ParsedQuery: ...

class ShoppingGuide:
    """The shopping guide over a live catalogue; every method may be called from any thread."""
    def __init__(self, model: Embedder, catalogue: Union[Catalogue, Sequence[ProductLike]], threads: int = 0,
                 attribute_boost: float = 0.1, search_candidates: int = 100,
                 filter_attributes: Sequence[str] = ("brand",), knn_k: int = 40, knn_min_k: int = 20,
                 storage: str = "float32") -> None: ...
    @staticmethod
    def open(dir: Union[str, os.PathLike], model: Embedder, threads: int = 0, attribute_boost: float = 0.1,
             search_candidates: int = 100, filter_attributes: Sequence[str] = ("brand",)) -> "ShoppingGuide": ...
    def save(self, dir: Union[str, os.PathLike]) -> None: ...
    def fit_collaborative_filtering(self, users: Sequence[Union[str, int]], items: Sequence[Union[str, int]],
                                    ratings: Sequence[float]) -> None: ...
    def search(self, query: str, k: int = 10, mode: Literal["hybrid", "dense", "lexical"] = "hybrid",
               ignore: Sequence[str] = (), filters: Mapping[str, str] = ..., price_min: float = ...,
               price_max: float = ...) -> SearchAnswer: ...
    def recommend(self, user: Optional[Union[str, int]], history: object, k: int = 10, content_weight: float = 0.3,
                  candidates: int = 200, mmr_lambda: float = 1.0, recency_half_life: float = 0.0,
                  explain_neighbors: int = 3) -> List[Recommended]: ...
    def upsert(self, products: Union[ProductLike, Sequence[ProductLike]]) -> UpsertReport: ...
    def remove(self, ids: Sequence[str]) -> int: ...
    def compact(self) -> List[int]: ...
    def product(self, id: str) -> Product: ...
    def __len__(self) -> int: ...
    @property
    def catalogue(self) -> Catalogue: ...
