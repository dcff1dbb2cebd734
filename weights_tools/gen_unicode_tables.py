"""Generates include/embedrank/text/detail/unicode_tables.hpp, the Unicode data of the WordPiece tokenizer.

Regenerate (needs a venv with the Hugging Face `tokenizers` package):

    /opt/tokenv/bin/python weights_tools/gen_unicode_tables.py include/embedrank/text/detail/unicode_tables.hpp

Two sources, both recorded in the generated header:

1. The Unicode Character Database as shipped in Python's `unicodedata`
   (Unicode 14.0.0 for Python 3.11): general categories (P*, Mn, Cc/Cf/Co/Cs),
   canonical decompositions (NFD), canonical combining classes and lowercase
   mappings.
2. The reference implementation, the Rust `tokenizers` library (through its
   Python binding), probed code point by code point. Its Unicode data has
   several ages: punctuation, control and nonspacing-mark tests come from the
   `unicode_categories` crate (an older Unicode), whitespace and lowercase from
   Rust's standard library (a newer Unicode), NFD from
   `unicode-normalization-alignments`. Where it disagrees with (1) the
   reference wins, because token ids must match Hugging Face; the generator
   counts those code points per property and writes the counts (and the
   first few code points) into the header. docs/tokenizer.md explains them.
3. Python's str.lower() itself, for the Case_Ignorable and Cased properties
   of its final-sigma rule (what sentence-transformers' do_lower_case runs).

Hangul syllables decompose algorithmically (checked against the reference
here) and are not tabulated.
"""
from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path

MAX_CP = 0x110000
BLOCK = 128

DROP, CLEAN_SPACE, WHITESPACE, PUNCT, NONSPACING_MARK = 1, 2, 4, 8, 16
# For Python's str.lower() final-sigma rule (sentence-transformers' do_lower_case).
CASE_IGNORABLE, CASED = 32, 64
# Python's str.lower() leaves the character unchanged where the reference's
# (newer) Rust tables lowercase it.
PYTHON_KEEPS_CASE = 128
ASCII_PUNCT = set(map(ord, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"))
# White_Space (PropList.txt), which Rust's char::is_whitespace implements.
WHITE_SPACE = {*range(0x9, 0xE), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F,
               0x205F, 0x3000}
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3


def hangul_nfd(cp: int) -> list[int]:
    s = cp - HANGUL_FIRST
    out = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
    if s % 28:
        out.append(0x11A7 + s % 28)
    return out


def ucd_properties(cp: int) -> tuple[int, list[int], list[int]]:
    """(flags, NFD, lowercase) from the Unicode Character Database alone."""
    c = chr(cp)
    cat = unicodedata.category(c)
    flags = 0
    if cp in (9, 10, 13) or cp in WHITE_SPACE and cat != "Cc":
        flags |= CLEAN_SPACE
    elif cp in (0, 0xFFFD) or cat in ("Cc", "Cf", "Co", "Cs"):
        flags |= DROP
    if cp in WHITE_SPACE:
        flags |= WHITESPACE
    elif cat.startswith("P") or cp in ASCII_PUNCT:
        flags |= PUNCT
    if cat == "Mn":
        flags |= NONSPACING_MARK
    return flags, [ord(x) for x in unicodedata.normalize("NFD", c)], [ord(x) for x in c.lower()]


def reference_properties(cp: int, probes) -> tuple[int, list[int], list[int]]:
    """(flags, NFD, lowercase) as the Rust tokenizers library behaves."""
    clean, strip, lower, nfd, pre = probes
    c = chr(cp)
    flags = 0
    cleaned = clean.normalize_str(c)
    if cleaned == "":
        flags |= DROP
    elif cleaned == " ":
        flags |= CLEAN_SPACE
    pieces = len(pre.pre_tokenize_str("a" + c + "b"))
    if pieces == 2:
        flags |= WHITESPACE
    elif pieces == 3:
        flags |= PUNCT
    decomposition = [ord(x) for x in nfd.normalize_str(c)]
    if decomposition == [cp] and strip.normalize_str(c) == "":
        flags |= NONSPACING_MARK
    return flags, decomposition, [ord(x) for x in lower.normalize_str(c)]


def python_sigma_flags(cp: int) -> int:
    """Case_Ignorable and Cased as Python's str.lower() uses them for a final sigma.

    "A<c>Σ" lowers Σ to ς when c is case-ignorable (skipped, then A is cased)
    or cased; "1<c>Σ" when c is cased and not case-ignorable (an ignorable c
    is skipped and 1 is not cased). Ignorable characters are always skipped,
    so "cased" matters only for the others.
    """
    c = chr(cp)
    after_letter = ("A" + c + "\u03a3").lower()[-1] == "\u03c2"
    after_digit = ("1" + c + "\u03a3").lower()[-1] == "\u03c2"
    if after_digit:
        return CASED
    return CASE_IGNORABLE if after_letter else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    import tokenizers
    from tokenizers.normalizers import NFD, BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    probes = (BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False),
              BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False),
              BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True),
              NFD(), BertPreTokenizer())

    names = {DROP: "dropped by clean_text", CLEAN_SPACE: "mapped to space by clean_text",
             WHITESPACE: "whitespace", PUNCT: "punctuation", NONSPACING_MARK: "nonspacing mark"}
    overrides: dict[str, list[int]] = {name: [] for name in [*names.values(), "NFD", "lowercase"]}
    records: dict[tuple, int] = {}
    record_list: list[tuple] = []
    pool: list[int] = []
    pool_index: dict[tuple, int] = {}
    per_cp = [0] * MAX_CP

    def pooled(seq: list[int]) -> int:
        key = tuple(seq)
        if key not in pool_index:
            pool_index[key] = len(pool)
            pool.extend(seq)
        return pool_index[key]

    for cp in range(MAX_CP):
        if 0xD800 <= cp <= 0xDFFF:
            flags, decomposition, lower = DROP, [cp], [cp]
        else:
            flags, decomposition, lower = reference_properties(cp, probes)
            ucd_flags, ucd_decomposition, ucd_lower = ucd_properties(cp)
            for bit, name in names.items():
                if (flags ^ ucd_flags) & bit and not (bit == NONSPACING_MARK and decomposition != [cp]):
                    overrides[name].append(cp)
            if decomposition != ucd_decomposition:
                overrides["NFD"].append(cp)
            if lower != ucd_lower:
                overrides["lowercase"].append(cp)
                if ucd_lower != [cp]:
                    sys.exit(f"U+{cp:04X}: Python and the reference lowercase it differently")
                flags |= PYTHON_KEEPS_CASE
        if not 0xD800 <= cp <= 0xDFFF:
            flags |= python_sigma_flags(cp)
        if HANGUL_FIRST <= cp <= HANGUL_LAST:
            if decomposition != hangul_nfd(cp):
                sys.exit(f"U+{cp:04X}: reference NFD differs from the Hangul algorithm")
            decomposition = [cp]
        ccc = unicodedata.combining(chr(cp)) if not 0xD800 <= cp <= 0xDFFF else 0
        if decomposition == [cp]:
            decomposition_offset, decomposition_size = 0, 0
        else:
            decomposition_offset, decomposition_size = pooled(decomposition), len(decomposition)
        if len(lower) == 1:
            lower_size, lower_value = 1, lower[0] - cp
        else:
            lower_size, lower_value = len(lower), pooled(lower)
        record = (flags, ccc, decomposition_offset, decomposition_size, lower_size, lower_value)
        if record not in records:
            records[record] = len(record_list)
            record_list.append(record)
        per_cp[cp] = records[record]

    blocks: dict[tuple, int] = {}
    block_list: list[tuple] = []
    block_index = []
    for start in range(0, MAX_CP, BLOCK):
        block = tuple(per_cp[start:start + BLOCK])
        if block not in blocks:
            blocks[block] = len(block_list)
            block_list.append(block)
        block_index.append(blocks[block])
    if len(record_list) >= 1 << 16 or len(block_list) >= 1 << 16 or len(pool) >= 1 << 16:
        sys.exit("tables outgrew 16-bit indices")

    def rows(values, per_line=24):
        values = list(values)
        return "\n".join("    " + ", ".join(map(str, values[i:i + per_line])) + ","
                         for i in range(0, len(values), per_line))

    override_lines = []
    for name, cps in overrides.items():
        sample = " ".join(f"U+{cp:04X}" for cp in cps[:12])
        override_lines.append(f"//   {name}: {len(cps)} code points{': ' + sample if cps else ''}"
                              f"{' ...' if len(cps) > 12 else ''}")
        print(f"{name}: {len(cps)} code points differ from the UCD", file=sys.stderr)
    records_text = ",\n".join(f"    {{{f}, {c}, {d}, {ds}, {ls}, {lv}}}" for f, c, d, ds, ls, lv in record_list)
    text = f"""#pragma once
// Generated by weights_tools/gen_unicode_tables.py; do not edit.
// Unicode Character Database: Python unicodedata {unicodedata.unidata_version}.
// Reference behaviour: Hugging Face tokenizers {tokenizers.__version__}, probed per code point.
// Code points where the reference differs from the UCD (the reference wins):
{chr(10).join(override_lines)}

#include <cstdint>

namespace embedrank::text::detail {{

inline constexpr const char* kUnicodeVersion = "{unicodedata.unidata_version}";
inline constexpr const char* kReferenceTokenizersVersion = "{tokenizers.__version__}";

/// Property bits of CharRecord::flags.
enum CharFlag : std::uint8_t {{
  kDropByCleanText = {DROP},    ///< removed by BertNormalizer clean_text (NUL, U+FFFD, controls)
  kSpaceByCleanText = {CLEAN_SPACE},   ///< replaced by ' ' by clean_text (tab, newline, CR, whitespace)
  kWhitespace = {WHITESPACE},         ///< split point of BertPreTokenizer (Rust char::is_whitespace)
  kPunctuation = {PUNCT},        ///< isolated by BertPreTokenizer (ASCII symbols and P*)
  kNonspacingMark = {NONSPACING_MARK},    ///< removed by strip_accents after NFD (Mn)
  kCaseIgnorable = {CASE_IGNORABLE},    ///< Case_Ignorable, as Python's str.lower() (Unicode {unicodedata.unidata_version}) sees it
  kCased = {CASED},            ///< Cased and not Case_Ignorable, likewise (the final-sigma rule)
  kPythonKeepsCase = {PYTHON_KEEPS_CASE},  ///< str.lower() (Unicode {unicodedata.unidata_version}) keeps it; the reference lowercases it
}};

/// One row of properties shared by many code points.
struct CharRecord {{
  std::uint8_t flags;
  std::uint8_t combining_class;      ///< canonical combining class, for NFD reordering
  std::uint16_t decomposition;        ///< offset into kPool of the full NFD (if decomposition_size > 0)
  std::uint8_t decomposition_size;    ///< 0: the code point is its own NFD (Hangul is algorithmic)
  std::uint8_t lower_size;            ///< 1: lower is a delta; more: lower is an offset into kPool
  std::int32_t lower;
}};

inline constexpr int kBlockShift = {BLOCK.bit_length() - 1};
inline constexpr char32_t kBlockMask = {BLOCK - 1};

/// Record index of code point cp: kBlocks[(kBlockIndex[cp >> kBlockShift] << kBlockShift) + (cp & kBlockMask)].
inline constexpr std::uint16_t kBlockIndex[{len(block_index)}] = {{
{rows(block_index)}
}};

inline constexpr std::uint16_t kBlocks[{len(block_list) * BLOCK}] = {{
{rows(v for block in block_list for v in block)}
}};

inline constexpr CharRecord kRecords[{len(record_list)}] = {{
{records_text}
}};

inline constexpr char32_t kPool[{max(len(pool), 1)}] = {{
{rows(pool or [0])}
}};

}}  // namespace embedrank::text::detail
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {len(record_list)} records, {len(block_list)} blocks, pool {len(pool)}", file=sys.stderr)


if __name__ == "__main__":
    main()
