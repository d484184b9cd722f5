"""Latency of the neural reader alone, by engine: one question over the passages the app reads.

    .venv/bin/python benchmarks/reader_latency.py [--rounds 5] [--squad ../shared/squad/dev-v1.1.json] \\
        [--write docs/BENCHMARKS.md]

For every answerable question of tests/data/seed_dev.jsonl the pipeline's
retriever picks the top `read_k` passages (untimed); then `NeuralReader.run`
over those is timed, `rounds` times, for each way of running the same
weights: PyTorch float32 (the baseline), PyTorch dynamic int8, and ONNX
Runtime in fp32 and int8, shipped and the variants that were not shipped
(the transformer-fused graph in fp32; int8 of its matrix multiplications
only; int8 of every weight op, the embedding tables too). Each also gets its
SQuAD v1.1 dev EM/F1 on the first `--squad-limit` questions, so a speed-up is
never bought with answers unseen (the shipped engines' figures on all 10,570
are in qa/models/reader/README.md).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch
from report import measured_on, percentile, publish

from qa import QAPipeline, Settings
from qa.answers.conversation import as_messages, standalone_question
from qa.evaluation.evaluate import load_jsonl
from qa.evaluation.squad import evaluate_reader, load_squad
from qa.reading.neural import SHIPPED_READER, NeuralReader
from qa.reading.span_model import SpanModel
from qa.runtime import Engine, fuse, quantize_weights, reader_file, session


def time_reader(reader: NeuralReader, cases: list, rounds: int) -> list[float]:
    reader.run(*cases[0])  # warm-up
    times = []
    for _ in range(rounds):
        for question, passages in cases:
            start = time.perf_counter()
            reader.run(question, passages)
            times.append((time.perf_counter() - start) * 1000)
    return times


def int8_copy(reader: NeuralReader) -> NeuralReader:
    """The same reader with its linear layers quantized to int8 on the fly."""
    from torch.ao.quantization import quantize_dynamic

    quantized = copy.copy(reader)
    span = reader.span_model
    model = quantize_dynamic(span.model, {torch.nn.Linear}, dtype=torch.qint8)
    quantized.span_model = SpanModel(model, span.tokenizer, span.max_length, span.stride, span.max_answer_tokens)
    return quantized


def onnx_copy(reader: NeuralReader, file: Path) -> NeuralReader:
    """The same reader with its forward pass run by ONNX Runtime from ``file``."""
    other = copy.copy(reader)
    other.span_model = SpanModel(SHIPPED_READER, session=session(file))
    return other


def unshipped_variants(work: Path) -> dict[str, Path]:
    """The ONNX graphs that were tried and not shipped, made from the shipped fp32 export
    (the shipped int8 is qa.runtime.quantize: the fused graph, its attention and matrix multiplications)."""
    fp32 = reader_file(SHIPPED_READER, Engine.ONNX)
    fused = work / "fused.onnx"
    fuse(fp32, fused, SHIPPED_READER)
    matmul = work / "fused.int8-matmul.onnx"
    quantize_weights(fused, matmul, op_types=["MatMul"])
    every = work / "fused.int8-every-op.onnx"
    quantize_weights(fused, every)
    return {
        "ONNX fp32, transformer-fused graph (not shipped)": fused,
        "ONNX int8, matmuls only (not shipped)": matmul,
        "ONNX int8, every weight op, embeddings too (not shipped)": every,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared" / "squad" / "dev-v1.1.json")
    parser.add_argument("--squad-limit", type=int, default=1000)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()

    bot = QAPipeline(Settings.from_env(reader="neural"))
    passages = bot.settings.read_k
    cases = []
    for q in load_jsonl(ROOT / "tests" / "data" / "seed_dev.jsonl"):
        if q.answerable:
            # The reader gets what `ask` gives it: the follow-up with its pronoun resolved.
            question = standalone_question(q.question, as_messages(q.history))
            cases.append((question, bot.search(q.question, passages, q.history)))
    fp32 = NeuralReader()
    fp32.warm_up()
    variants = {"PyTorch fp32 (baseline)": fp32, "PyTorch dynamic int8": int8_copy(fp32)}
    variants["ONNX fp32 (`--engine onnx`)"] = onnx_copy(fp32, reader_file(SHIPPED_READER, Engine.ONNX))
    variants["ONNX int8, fused (`--engine onnx-int8`, the default)"] = onnx_copy(
        fp32, reader_file(SHIPPED_READER, Engine.ONNX_INT8)
    )
    work = Path(tempfile.mkdtemp(prefix="reader-variants-"))
    variants |= {name: onnx_copy(fp32, file) for name, file in unshipped_variants(work).items()}
    squad = load_squad(args.squad, args.squad_limit) if args.squad.exists() else []
    rows = []
    for name, reader in variants.items():
        times = time_reader(reader, cases, args.rounds)
        scores = evaluate_reader(reader.span_model, squad) if squad else None
        rows.append((name, statistics.median(times), percentile(times, 0.95), scores))
        print(
            name, f"p50 {rows[-1][1]:.1f} ms", scores and f"EM {scores.exact_match:.1f} F1 {scores.f1:.1f}", flush=True
        )

    base = rows[0][1]
    lines = [
        f"| reader | p50 ms | p95 ms | p50 ratio to baseline | SQuAD dev EM / F1 (first {len(squad):,}) |",
        "|---|---|---|---|---|",
    ]
    for name, p50, p95, scores in rows:
        quality = f"{scores.exact_match:.1f} / {scores.f1:.1f}" if scores else "n/a"
        lines.append(f"| {name} | {p50:.1f} | {p95:.1f} | {p50 / base:.2f} | {quality} |")
    command = " ".join(["python", *sys.argv])
    lines += [
        "",
        f"One question over its top {passages} retrieved paragraphs (`read_k`), {len(cases)} answerable seed dev questions × "
        f"{args.rounds} rounds; retrieval not timed. Measured {measured_on()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, "
        f"transformers {metadata.version('transformers')}, onnxruntime {metadata.version('onnxruntime')} (`{command}`).",
    ]
    report = "\n".join(lines)
    publish(report, args.write, "reader_latency", "Reader latency")


if __name__ == "__main__":
    main()
