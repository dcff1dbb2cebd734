"""Type stubs of the extension module embedrank._embedrank (pybind11)."""

from typing import Any, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

Id = Union[str, int, np.integer]
Ids = Union[Sequence[Id], npt.NDArray[Any]]
FloatArray = npt.NDArray[np.float32]
HistoryEntry = Union[Id, Tuple[Id, float], Tuple[Id, float, float]]

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
        metric: Literal["ip", "cosine"] = "ip",
        storage: Literal["float32", "float16"] = "float32",
        threads: int = 0,
    ) -> None: ...
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
        metric: Literal["ip", "cosine"] = "ip",
        storage: Literal["float32", "float16"] = "float32",
        threads: int = 0,
    ) -> "EmbeddingIndex": ...
    def vectors(self, ids: Ids) -> FloatArray:
        """The stored vectors (N, D) of ids, as scored (normalised for cosine)."""
    @property
    def dim(self) -> int: ...
    @property
    def metric(self) -> str: ...
    def __len__(self) -> int: ...
    def __contains__(self, id: object) -> bool: ...

class UserKnn:
    """Pearson user-kNN rating prediction (KNNBasic / KNNWithMeans / KNNWithZScore)."""

    def __init__(
        self,
        algorithm: Literal["basic", "with_means", "with_zscore"] = "with_means",
        k: int = 40,
        min_k: int = 1,
        min_support: int = 1,
        mean: Literal["co_rated", "user"] = "co_rated",
        shrinkage: Literal["n_minus_one", "none", "n", "capped"] = "n_minus_one",
        shrinkage_lambda: float = 100.0,
        max_neighbors: int = 200,
        order: Literal["by_user_index", "surprise"] = "by_user_index",
        fallback: Literal["chain", "global_mean"] = "chain",
        clip: bool = False,
        surprise_compatible: bool = False,
        threads: int = 0,
    ) -> None:
        """surprise_compatible=True gives Surprise 1.1's predictions (algorithm, k, min_k, min_support kept)."""
    def fit(
        self,
        users: Any,
        items: Optional[Ids] = None,
        ratings: Optional[Union[Sequence[float], npt.NDArray[Any]]] = None,
        *,
        user_col: str = "user",
        item_col: str = "item",
        rating_col: str = "rating",
        duplicates: Literal["last_wins", "error"] = "last_wins",
    ) -> "UserKnn":
        """Fits on (users, items, ratings) arrays or a pandas DataFrame with those columns; returns self."""
    def predict(self, user: Id, item: Id) -> float:
        """Predicted rating; unknown users or items fall back to a mean."""
    @overload
    def predict_many(self, users: Ids, items: Ids, return_details: Literal[False] = False) -> npt.NDArray[np.float64]: ...
    @overload
    def predict_many(
        self, users: Ids, items: Ids, return_details: Literal[True]
    ) -> Tuple[npt.NDArray[np.float64], npt.NDArray[Any], npt.NDArray[np.int32]]: ...
    def recommend(self, user: Id, n: int = 10) -> Tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
        """(items, scores) of the n best unseen items by neighbour prediction."""
    @property
    def num_users(self) -> int: ...
    @property
    def num_items(self) -> int: ...
    @property
    def fitted(self) -> bool: ...

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
        content_weight: float = 0.7,
        candidates: int = 200,
        mmr_lambda: float = 1.0,
        exclude: Optional[Ids] = None,
    ) -> list[Recommended]:
        """The k best unseen items for profile (D,), blended with the CF model's predictions for cf_user."""
    @property
    def catalogue(self) -> EmbeddingIndex: ...
    @property
    def cf(self) -> Optional[UserKnn]: ...
