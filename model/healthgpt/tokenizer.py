"""Build and use a small byte-level BPE tokenizer in the Hugging Face tokenizer.json format.

The Python `tokenizers` library is not available here, so the JSON is written by hand and a tiny
encoder/decoder mirrors what @huggingface/tokenizers does with it (the Node tests check both agree).

Layout of ids: 0..255 byte symbols, then learned merges (text vocab = `text_vocab_size`), then the chat
special tokens, <start_index>, <idx_0>..<idx_{K-1}>, <end_index>, <pixel_newline>. Matches
`HealthGPTConfig(text_vocab_size=..., num_image_tokens=K)` / `HealthGPTConfig.from_tokenizer(json)`.

Pre-tokenization is an ASCII regex Split (so Python `re` and JavaScript agree exactly) followed by
ByteLevel without its own regex.
"""
from __future__ import annotations

import collections
import json
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from .config import CHAT_SPECIAL_TOKENS, END_INDEX, PIXEL_NEWLINE, START_INDEX

SPLIT_PATTERN = r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+"

DEFAULT_CORPUS = [
    "What modality is this image? This is a CT scan of the head.",
    "Is there an abnormality in the lung? No, the lungs are clear.",
    "Describe the findings. The image shows a normal brain MRI with no mass effect.",
    "Which organ is shown? The liver, the kidney, the heart, the spine, the chest.",
    "Convert the CT to MRI. Convert the MRI to CT. Super-resolve this image. Reconstruct the image.",
    "Yes. No. Left. Right. Axial, coronal, sagittal plane. T1, T2, FLAIR, contrast enhanced.",
    "The radiograph demonstrates a fracture of the left femur. There is pleural effusion.",
]


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2 byte -> printable character table (as used by ByteLevel)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


_B2U = bytes_to_unicode()
_U2B = {v: k for k, v in _B2U.items()}


def _pieces(text: str) -> List[str]:
    return ["".join(_B2U[b] for b in m.encode("utf-8")) for m in re.findall(SPLIT_PATTERN, text)]


def build_tokenizer(
    corpus: Optional[Iterable[str]] = None,
    text_vocab_size: int = 512,
    num_image_tokens: int = 64,
    extra_special_tokens: Sequence[str] = (),
) -> Dict:
    """Learn BPE merges on `corpus` up to `text_vocab_size` symbols and return the tokenizer.json dict."""
    corpus = list(corpus) if corpus is not None else DEFAULT_CORPUS
    if text_vocab_size < 256:
        raise ValueError("text_vocab_size must be at least 256 (the byte alphabet)")
    vocab: Dict[str, int] = {_B2U[b]: b for b in range(256)}
    words: collections.Counter = collections.Counter()
    for line in corpus:
        for p in _pieces(line):
            words[tuple(p)] += 1
    merges: List[Tuple[str, str]] = []
    while len(vocab) < text_vocab_size:
        pairs: collections.Counter = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), cnt = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        if cnt < 2 and len(merges) > 0 and False:
            break
        merged = a + b
        if merged in vocab:  # can happen with unusual corpora; just record the merge
            merges.append((a, b))
        else:
            merges.append((a, b))
            vocab[merged] = len(vocab)
        new_words: collections.Counter = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(merged)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] += c
        words = new_words
    # pad the text vocabulary to exactly text_vocab_size with unused reserved symbols
    n_text = len(vocab)
    specials = list(CHAT_SPECIAL_TOKENS) + list(extra_special_tokens) + [START_INDEX]
    specials += [f"<idx_{i}>" for i in range(num_image_tokens)] + [END_INDEX, PIXEL_NEWLINE]
    base = max(n_text, text_vocab_size)
    added = [
        {"id": base + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, t in enumerate(specials)
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": SPLIT_PATTERN}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
            ],
        },
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges],
        },
    }


def tokenizer_config_json() -> Dict:
    """Companion tokenizer_config.json (no BOS/EOS added automatically)."""
    return {"add_bos_token": False, "add_eos_token": False, "clean_up_tokenization_spaces": False,
            "eos_token": "<|end|>", "model_max_length": 4096}


class Tokenizer:
    """Minimal encoder/decoder for tokenizer.json files produced by `build_tokenizer`."""

    def __init__(self, tj: Union[Dict, str]):
        if isinstance(tj, str):
            with open(tj, "r", encoding="utf-8") as f:
                tj = json.load(f)
        self.json = tj
        self.vocab: Dict[str, int] = dict(tj["model"]["vocab"])
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in tj["model"]["merges"]]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.added = {t["content"]: t["id"] for t in tj["added_tokens"]}
        self.id_to_token = {v: k for k, v in self.vocab.items()}
        self.id_to_token.update({v: k for k, v in self.added.items()})
        specials = sorted(self.added, key=len, reverse=True)
        self._split = re.compile("(" + "|".join(re.escape(s) for s in specials) + ")") if specials else None

    def _bpe(self, piece: str) -> List[str]:
        word = list(piece)
        while len(word) > 1:
            best = None
            for i in range(len(word) - 1):
                r = self.ranks.get((word[i], word[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            a, b = word[best[1]], word[best[1] + 1]
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        return word

    def encode(self, text: str) -> List[int]:
        ids: List[int] = []
        parts = self._split.split(text) if self._split else [text]
        for part in parts:
            if not part:
                continue
            if part in self.added:
                ids.append(self.added[part])
                continue
            for p in _pieces(part):
                ids.extend(self.vocab[t] for t in self._bpe(p))
        return ids

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        out: List[str] = []
        buf: List[int] = []
        for i in ids:
            tok = self.id_to_token[int(i)]
            if tok in self.added:
                if buf:
                    out.append(bytes(buf).decode("utf-8", errors="replace"))
                    buf = []
                if not skip_special_tokens:
                    out.append(tok)
            else:
                buf.extend(_U2B[c] for c in tok)
        if buf:
            out.append(bytes(buf).decode("utf-8", errors="replace"))
        return "".join(out)
