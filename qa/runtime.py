"""The two models in ONNX Runtime: the reader and the query encoder.

PyTorch stays the source of truth (training, index building, the ``torch``
engine); the ONNX files are derived from its weights on this machine by
``qa export-onnx`` or, lazily, the first time an ``onnx`` engine
loads a model. Each file is named by the digest of the weights it came from,
so new weights never meet a stale export, and is written to a temporary name
and renamed, so an interrupted export leaves nothing half-written.

The reader is exported with eager attention. In fp32 it is left to ONNX
Runtime's own graph optimisations at load time (fusing it ahead of time gains
nothing there); for ``onnx-int8`` the
transformer optimiser first fuses attention, embedding + layer norm and
bias + GELU, and the fused graph's attention and matrix multiplications are
quantised to int8, dynamic and per channel; the embedding tables stay fp32
(quantising them too is about 6% faster but cost the reader trained with hard
negatives 0.6 F1, over the 0.5 allowed). Of the variants measured
(docs/BENCHMARKS.md) that keep SQuAD v1.1 dev F1 within 0.5 of fp32
(qa/models/reader/README.md), that one is the fastest.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Engine(enum.StrEnum):
    """What runs the models' forward passes."""

    TORCH = "torch"
    ONNX = "onnx"
    ONNX_INT8 = "onnx-int8"  # the reader quantised; the query encoder stays fp32 (its vectors meet the index's)


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa"


def digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def session(file: Path, threads: int | None = None):
    """An ONNX Runtime CPU session tuned for answering one question at a time:
    every graph optimisation, intra-op threads on the physical cores and no
    inter-op pool (a BERT graph is one chain)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Two sessions (query encoder, then reader) run one after the other on the
    # same cores: a pool left spinning after its run would steal the next one's.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # warnings about unused initialisers are not the user's business
    return ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])


def reader_file(weights: Path | str, engine: Engine, cache_dir: Path | None = None) -> Path:
    """The reader's ONNX file for ``engine``, exported first if missing."""
    weights = Path(weights)
    cache_dir = cache_dir or default_cache_dir()
    name = f"reader-{digest([weights / 'model.safetensors', weights / 'config.json'])}"
    fp32 = cache_dir / f"{name}.onnx"
    if not fp32.is_file():
        _atomic(fp32, lambda tmp: export_reader(weights, tmp))
    if engine is not Engine.ONNX_INT8:
        return fp32
    int8 = cache_dir / f"{name}.int8-{INT8_RECIPE}.onnx"
    if not int8.is_file():
        _atomic(int8, lambda tmp: quantize(fp32, tmp, weights))
    return int8


def export_reader(weights: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForQuestionAnswering

    log.info("Exporting the reader in %s to ONNX", weights)
    model = AutoModelForQuestionAnswering.from_pretrained(
        str(weights), dtype=torch.float32, attn_implementation="eager"
    ).eval()
    _export(model, out, ["start_logits", "end_logits"])


# Named in the int8 file's name, so a changed recipe never meets a file made by the old one.
INT8_RECIPE = "v2"

INT8_OPS = ["MatMul", "Attention"]  # not EmbedLayerNormalization: the embedding tables stay fp32


def quantize(fp32: Path, out: Path, weights: Path) -> None:
    """The shipped int8 recipe: fuse the transformer's ops, then quantise the
    fused graph's attention and matrix multiplications."""
    log.info("Quantising %s to int8", fp32.name)
    fused = out.with_suffix(".fused.onnx")
    try:
        fuse(fp32, fused, weights)
        quantize_weights(fused, out, INT8_OPS)
    finally:
        fused.unlink(missing_ok=True)


def fuse(fp32: Path, out: Path, weights: Path) -> None:
    """ONNX Runtime's transformer optimiser: attention, embedding + layer norm, bias + GELU fused."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((Path(weights) / "config.json").read_text())
    with _quiet_root_logger():  # the optimiser logs a line per fusion
        model = optimize_model(
            str(fp32),
            model_type="bert",
            num_heads=config["num_attention_heads"],
            hidden_size=config["hidden_size"],
            opt_level=1,
        )
        model.save_model_to_file(str(out))


def quantize_weights(src: Path, out: Path, op_types: list[str] | None = None) -> None:
    """Dynamic int8, per channel, of the weights of ``op_types`` (default: every op the quantiser knows)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():  # the quantiser logs a line per tensor
        quantize_dynamic(
            str(src),
            str(out),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=op_types,
            # ONNX shape inference does not know the fused ops (ORT's own domain); their outputs are float.
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def encoder_file(model_dir: Path | str, cache_dir: Path | None = None) -> Path:
    """The sentence encoder (transformer, mean pooling, unit length) as one ONNX file."""
    model_dir = Path(model_dir)
    weights = sorted(p for p in model_dir.rglob("*") if p.suffix in (".safetensors", ".bin", ".json") and p.is_file())
    out = (cache_dir or default_cache_dir()) / f"encoder-{digest(weights)}.onnx"
    if not out.is_file():
        _atomic(out, lambda tmp: export_encoder(model_dir, tmp))
    return out


def export_encoder(model_dir: Path, out: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    log.info("Exporting the sentence encoder in %s to ONNX", model_dir)
    encoder = SentenceTransformer(str(model_dir), device="cpu")
    modules = [type(m).__name__ for m in encoder]
    pooling = encoder[1].get_config_dict().get("pooling_mode") if len(encoder) > 1 else None
    if modules != ["Transformer", "Pooling", "Normalize"] or pooling != "mean":
        raise ValueError(f"Only mean-pooled, normalised encoders are exported to ONNX, not {modules} ({pooling})")

    class MeanPooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    bert = encoder[0].auto_model
    bert.config._attn_implementation = "eager"  # as the reader: plain ops that export and optimise cleanly
    _export(MeanPooled(bert).eval(), out, ["embedding"])


def _export(model, out: Path, outputs: list[str]) -> None:
    import torch

    sample = {k: torch.ones((2, 16), dtype=torch.long) for k in INPUTS}
    sample["token_type_ids"] = torch.zeros((2, 16), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    axes.update({name: {0: "batch", 1: "tokens"} for name in outputs if name != "embedding"})
    axes.update({name: {0: "batch"} for name in outputs if name == "embedding"})
    with warnings.catch_warnings(), torch.inference_mode():
        # The TorchScript exporter warns about every Python branch it traces; BERT's are on shapes it keeps dynamic.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            tuple(sample[k] for k in INPUTS),
            str(out),
            input_names=list(INPUTS),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _atomic(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".onnx")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared cache from other users
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
