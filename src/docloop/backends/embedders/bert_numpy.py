"""A BERT encoder forward pass in plain numpy (float32).

Why numpy: the default install must embed text with no torch and no
onnxruntime, so the sentence-transformers MiniLM weights are run here
directly. Only what inference needs is implemented: absolute position
embeddings, post-LayerNorm encoder layers, exact (erf) GELU and a padding
mask; dropout is an identity at inference time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from docloop.errors import ConfigError

FloatArray = np.ndarray
GELU_BLOCK_ROWS = 64

# Abramowitz & Stegun 7.1.26 coefficients: |error| < 1.5e-7, below float32 noise here.
_ERF_P = np.float32(0.3275911)
_ERF_A = [np.float32(c) for c in (0.254829592, -0.284496736, 1.421413741, -1.453152027,
                                  1.061405429)]


@dataclass(frozen=True)
class Layer:
    """One encoder layer; weight matrices are stored transposed (in x out)."""

    qkv_w: FloatArray
    qkv_b: FloatArray
    out_w: FloatArray
    out_b: FloatArray
    ln1_g: FloatArray
    ln1_b: FloatArray
    ffn_in_w: FloatArray
    ffn_in_b: FloatArray
    ffn_out_w: FloatArray
    ffn_out_b: FloatArray
    ln2_g: FloatArray
    ln2_b: FloatArray


@dataclass(frozen=True)
class BertWeights:
    """Everything needed to run the encoder."""

    word: FloatArray
    position: FloatArray
    token_type: FloatArray
    emb_ln_g: FloatArray
    emb_ln_b: FloatArray
    layers: list[Layer]
    heads: int
    eps: float


def load_weights(model_file: Path, heads: int, layers: int, eps: float) -> BertWeights:
    """Read a BERT `model.safetensors` into transposed float32 matrices."""
    try:
        raw = load_file(str(model_file))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read model weights {model_file}: {exc}") from None
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in raw else ""

    def get(name: str) -> FloatArray:
        key = prefix + name
        if key not in raw:
            raise ConfigError(f"{model_file}: tensor '{key}' missing; is this a BERT model?")
        return np.ascontiguousarray(raw[key], dtype=np.float32)

    return BertWeights(
        word=get("embeddings.word_embeddings.weight"),
        position=get("embeddings.position_embeddings.weight"),
        token_type=get("embeddings.token_type_embeddings.weight"),
        emb_ln_g=get("embeddings.LayerNorm.weight"),
        emb_ln_b=get("embeddings.LayerNorm.bias"),
        layers=[_layer(get, f"encoder.layer.{i}.") for i in range(layers)],
        heads=heads,
        eps=eps,
    )


def _layer(get: Callable[[str], FloatArray], p: str) -> Layer:
    def t(name: str) -> FloatArray:
        return np.ascontiguousarray(get(p + name).T)

    def v(name: str) -> FloatArray:
        return get(p + name)

    att = "attention.self."
    return Layer(
        qkv_w=np.ascontiguousarray(np.concatenate(
            [t(att + "query.weight"), t(att + "key.weight"), t(att + "value.weight")], axis=1)),
        qkv_b=np.concatenate([v(att + "query.bias"), v(att + "key.bias"), v(att + "value.bias")]),
        out_w=t("attention.output.dense.weight"),
        out_b=v("attention.output.dense.bias"),
        ln1_g=v("attention.output.LayerNorm.weight"),
        ln1_b=v("attention.output.LayerNorm.bias"),
        ffn_in_w=t("intermediate.dense.weight"),
        ffn_in_b=v("intermediate.dense.bias"),
        ffn_out_w=t("output.dense.weight"),
        ffn_out_b=v("output.dense.bias"),
        ln2_g=v("output.LayerNorm.weight"),
        ln2_b=v("output.LayerNorm.bias"),
    )


def erf(x: FloatArray) -> FloatArray:
    """Error function, elementwise (numpy has none; A&S 7.1.26, |err| < 5e-7 in float32).

    Computed in place on few temporaries: large fresh arrays cost page faults
    that dominate the arithmetic.
    """
    a = np.abs(x)
    # erf(4) == 1 in float32; clipping also keeps exp(-a*a) out of slow denormals.
    np.minimum(a, np.float32(4.0), out=a)
    t = a * _ERF_P
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = t * _ERF_A[4]
    for coef in reversed(_ERF_A[:4]):
        poly += coef
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a
    np.subtract(np.float32(1.0), poly, out=poly)
    poly *= np.sign(x)
    return poly


def gelu(x: FloatArray) -> FloatArray:
    """Exact GELU, x * Phi(x), as BERT's `hidden_act = "gelu"` defines it (x is overwritten).

    Runs over blocks of rows that fit in the CPU cache: the ~20 elementwise
    passes are then cache-bound instead of memory-bound (about 2x faster).
    """
    for start in range(0, x.shape[0], GELU_BLOCK_ROWS):
        block = x[start : start + GELU_BLOCK_ROWS]
        phi = erf(block * np.float32(0.7071067811865476))
        phi += np.float32(1.0)
        phi *= np.float32(0.5)
        block *= phi
    return x


def layer_norm(x: FloatArray, g: FloatArray, b: FloatArray, eps: float) -> FloatArray:
    """LayerNorm over the last axis (x is overwritten)."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.mean(np.square(x), axis=-1, keepdims=True)
    var += np.float32(eps)
    np.sqrt(var, out=var)
    x /= var
    x *= g
    x += b
    return x


def encode(w: BertWeights, ids: np.ndarray, mask: np.ndarray) -> FloatArray:
    """Mean-pooled (over the mask) last hidden states, shape (batch, hidden)."""
    length = ids.shape[1]
    x = w.word[ids] + w.position[:length][None, :, :] + w.token_type[0][None, None, :]
    x = layer_norm(x, w.emb_ln_g, w.emb_ln_b, w.eps)
    bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e4).astype(np.float32)
    for layer in w.layers:
        x = _encoder_layer(w, layer, x, bias)
    weights = mask.astype(np.float32)[:, :, None]
    summed = (x * weights).sum(axis=1)
    return summed / np.maximum(weights.sum(axis=1), np.float32(1e-9))


def _encoder_layer(w: BertWeights, layer: Layer, x: FloatArray, bias: FloatArray) -> FloatArray:
    batch, length, hidden = x.shape
    head_dim = hidden // w.heads
    flat = x.reshape(batch * length, hidden)
    qkv = flat @ layer.qkv_w
    qkv += layer.qkv_b
    qkv[:, :hidden] *= np.float32(1.0 / np.sqrt(head_dim))
    heads = qkv.reshape(batch, length, 3, w.heads, head_dim).transpose(2, 0, 3, 1, 4)
    scores = heads[0] @ heads[1].transpose(0, 1, 3, 2)
    scores += bias
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    context = (scores @ heads[2]).transpose(0, 2, 1, 3).reshape(batch * length, hidden)
    attended = context @ layer.out_w
    attended += layer.out_b
    attended += flat
    attended = layer_norm(attended, layer.ln1_g, layer.ln1_b, w.eps)
    inner = attended @ layer.ffn_in_w
    inner += layer.ffn_in_b
    out = gelu(inner) @ layer.ffn_out_w
    out += layer.ffn_out_b
    out += attended
    return layer_norm(out, layer.ln2_g, layer.ln2_b, w.eps).reshape(batch, length, hidden)
