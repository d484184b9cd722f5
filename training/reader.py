"""Fine-tune the extractive reader on SQuAD, reproducibly, with resumable checkpoints.

    python -m training.reader --train ../shared/squad/train-v1.1-explorer.json \
        --dev ../shared/squad/dev-v1.1.json --out qa/models/reader

Starts from the packaged all-MiniLM-L6-v2 encoder (a 6-layer BERT) with a fresh
span head. Recipe: windows of ``--max-length`` tokens with a ``--stride``
overlap, answer positions from character offsets, cross-entropy on start and
end, AdamW with linear warm-up and decay, a fixed seed. To teach abstention,
``--negatives`` of the questions are also paired with another paragraph of the
same article that does not contain their answer, labelled "no answer" at
[CLS]. On a GPU (``--device cuda``, the default where there is one) the
forward pass runs in bf16 autocast where the GPU supports it. A checkpoint is
written every ``--checkpoint-every`` steps into ``OUT/checkpoint``; running
the same command again resumes from it, on any device. The final weights are
saved in fp16 safetensors with the tokenizer and config.

A finished run is continued from its exported weights with ``--base OUT
--data-offset STEPS``: a new stretch, with a fresh optimizer and schedule, that
reads the same (seeded) data order from where the earlier run stopped.

Two options train the reader for reading many retrieved passages at once, as
the pipeline does:

- ``--hard-negatives N`` pairs each answerable question with the N paragraphs
  that our own retriever (qa/search/retriever.py, hybrid, over every training
  paragraph) ranks highest without containing its answer: distractors that
  share the question's words, labelled "no answer".
- ``--shared-norm W`` adds a loss normalised across all windows of a question
  and its negatives (Clark & Gardner, 2018, "Simple and Effective
  Multi-Paragraph Reading Comprehension"): the gold span must outscore every
  span in the distractors, so span scores are comparable across passages,
  which is what evidence aggregation compares. Batches then hold whole
  questions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from qa.evaluation.squad import SquadQuestion, evaluate_reader, load_squad
from qa.settings import PACKAGED_MODEL

log = logging.getLogger("training.reader")


@dataclass
class TrainConfig:
    train: str
    dev: str | None
    out: str
    base: str = PACKAGED_MODEL
    max_length: int = 256
    stride: int = 96
    epochs: float = 2.0
    max_steps: int | None = None  # stop (and schedule the learning rate) at this many steps
    batch_size: int = 32
    lr: float = 1e-4
    warmup: float = 0.06
    weight_decay: float = 0.01
    negatives: float = 0.25  # share of questions also paired with an answer-free paragraph
    limit: int | None = None  # train on the first N questions only (smoke tests)
    dev_limit: int | None = 2000  # dev questions scored after each epoch (0: all)
    checkpoint_every: int = 200
    data_offset: int = 0  # steps of the data order already trained on by --base (continuing a run)
    seed: int = 13
    threads: int | None = None
    device: str = "auto"  # "cpu", "cuda", or "auto" (cuda where there is one)
    export_only: bool = False  # write the weights of the latest checkpoint and stop
    mine_only: bool = False  # mine the hard negatives into OUT/mining and stop
    hard_negatives: int = 0  # retrieved answer-free paragraphs paired with each answerable question
    shared_norm: float = 0.0  # weight of the loss normalised across a question's windows (0: off)


def build_examples(
    questions: list[SquadQuestion],
    negatives: float,
    rng: random.Random,
    hard: dict[str, list[str]] | None = None,
) -> list[tuple[str, str, int, str, int]]:
    """(question, context, answer_start, answer_text, question number) tuples;
    answer_start -1 marks a no-answer pair. ``hard`` maps a question id to
    mined distractor paragraphs."""
    by_article: dict[int, list[str]] = {}
    for q in questions:
        contexts = by_article.setdefault(q.article, [])
        if not contexts or contexts[-1] != q.context:
            contexts.append(q.context)
    examples = []
    for number, q in enumerate(questions):
        if not q.answers:
            examples.append((q.question, q.context, -1, "", number))
            continue
        examples.append((q.question, q.context, q.answer_starts[0], q.answers[0], number))
        if rng.random() < negatives:
            others = [c for c in by_article[q.article] if c != q.context and q.answers[0] not in c]
            if others:
                examples.append((q.question, rng.choice(others), -1, "", number))
        for context in (hard or {}).get(q.id, ()):
            examples.append((q.question, context, -1, "", number))
    return examples


def mine_hard_negatives(questions: list[SquadQuestion], per_question: int, work: Path) -> dict[str, list[str]]:
    """For each answerable question, the paragraphs our hybrid retriever ranks
    highest that are not its own and contain none of its answers.

    Kept in ``work/hard_negatives.json`` (paragraph numbers, in order of first
    appearance in the file) and read from there by a later run on the same
    questions (the first ``per_question`` of each, if more were mined), so
    mining (CPU work: an index over every training paragraph) can be done
    apart from training, on another machine."""
    contexts = list(dict.fromkeys(q.context for q in questions))
    paragraphs = hashlib.sha256("\0".join(contexts).encode()).hexdigest()[:16]  # the numbers' meaning
    saved = work / "hard_negatives.json"
    if saved.exists():
        kept = json.loads(saved.read_text("utf-8"))
        if kept["per_question"] >= per_question and kept.get("paragraphs") == paragraphs:
            log.info("hard negatives read from %s", saved)
            return {qid: [contexts[i] for i in numbers[:per_question]] for qid, numbers in kept["mined"].items()}
    mined = _mine(questions, contexts, per_question, work)
    number = {context: i for i, context in enumerate(contexts)}
    record = {
        "per_question": per_question,
        "paragraphs": paragraphs,
        "mined": {qid: [number[c] for c in found] for qid, found in mined.items()},
    }
    saved.write_text(json.dumps(record), "utf-8")
    return mined


def _mine(questions: list[SquadQuestion], contexts: list[str], per_question: int, work: Path) -> dict[str, list[str]]:
    from qa.index.store import IndexStore
    from qa.search import embeddings
    from qa.search.retriever import HybridRetriever
    from qa.settings import Settings

    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    names = {context: f"p{i:06d}.txt" for i, context in enumerate(contexts)}
    for context, name in names.items():
        if not (corpus / name).exists():
            (corpus / name).write_text(context, "utf-8")
    settings = Settings.from_env(corpus_dir=corpus, index_dir=work / "index", group_duplicates=False)
    index, _ = IndexStore(settings).open()
    context_of = {name: context for context, name in names.items()}
    retriever = HybridRetriever(index, settings)
    answerable = [q for q in questions if q.answers]
    vectors = embeddings.encode(index.model, [q.question for q in answerable])
    mined: dict[str, list[str]] = {}
    for q, vector in zip(answerable, vectors, strict=True):
        found = []
        for ranked in retriever.rank(q.question, per_question + 5, vector):
            source = index.paragraphs[ranked.row].source
            if source == names[q.context] or source in found or any(a in context_of[source] for a in q.answers):
                continue
            found.append(source)
            if len(found) == per_question:
                break
        mined[q.id] = [context_of[source] for source in found]
    return mined


def featurize(tokenizer, examples, max_length: int, stride: int) -> dict[str, torch.Tensor]:
    """Token windows with start/end labels ([CLS] = 0 when the answer is not inside)."""
    encoded = tokenizer(
        [e[0] for e in examples],
        [e[1] for e in examples],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    starts, ends = [], []
    for i, offsets in enumerate(encoded["offset_mapping"]):
        _, _, answer_start, answer_text, _ = examples[encoded["overflow_to_sample_mapping"][i]]
        sequence_ids = encoded.sequence_ids(i)
        start_token = end_token = 0
        if answer_start >= 0:
            answer_end = answer_start + len(answer_text)
            context_tokens = [t for t, sid in enumerate(sequence_ids) if sid == 1]
            first, last = context_tokens[0], context_tokens[-1]
            if offsets[first][0] <= answer_start and offsets[last][1] >= answer_end:
                start_token = next(t for t in context_tokens if offsets[t][1] > answer_start)
                end_token = next(t for t in reversed(context_tokens) if offsets[t][0] < answer_end)
        starts.append(start_token)
        ends.append(end_token)
    input_ids, token_types = torch.tensor(encoded["input_ids"]), torch.tensor(encoded["token_type_ids"])
    # The context's tokens: the second segment, less its closing [SEP] (a
    # per-token loop over sequence_ids takes minutes on a few hundred thousand windows).
    in_context = (token_types == 1) & (input_ids != tokenizer.sep_token_id)
    return {
        "input_ids": input_ids,
        "attention_mask": torch.tensor(encoded["attention_mask"]),
        "token_type_ids": token_types,
        "start_positions": torch.tensor(starts),
        "end_positions": torch.tensor(ends),
        "question": torch.tensor([examples[i][4] for i in encoded["overflow_to_sample_mapping"]]),
        "in_context": in_context,
    }


def question_batches(question_of_window: torch.Tensor, batch_size: int, seed: int) -> list[torch.Tensor]:
    """Windows packed into batches of whole questions (at most ``batch_size``
    windows, unless one question has more), in a seeded order."""
    windows: dict[int, list[int]] = {}
    for window, question in enumerate(question_of_window.tolist()):
        windows.setdefault(question, []).append(window)
    order = torch.randperm(len(windows), generator=torch.Generator().manual_seed(seed)).tolist()
    groups = list(windows.values())
    batches, current = [], []
    for g in order:
        if current and len(current) + len(groups[g]) > batch_size:
            batches.append(torch.tensor(current))
            current = []
        current += groups[g]
    if current:
        batches.append(torch.tensor(current))
    return batches


def shared_norm_loss(start_logits, end_logits, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of the gold start and end over every context token of
    every window of the same question: -log of the gold positions' share."""
    losses = []
    for question in batch["question"].unique():
        rows = batch["question"] == question
        mask = batch["in_context"][rows]
        for logits, gold in ((start_logits, batch["start_positions"]), (end_logits, batch["end_positions"])):
            gold = gold[rows]
            if not (gold > 0).any():
                continue  # no window of this question holds its answer
            scores = logits[rows].float().masked_fill(~mask, float("-inf"))
            at_gold = torch.zeros_like(mask)
            at_gold[torch.arange(len(gold), device=gold.device), gold] = gold > 0
            losses.append(scores.flatten().logsumexp(0) - scores[at_gold].logsumexp(0))
    if not losses:
        return start_logits.sum() * 0.0
    return torch.stack(losses).mean()


def train(config: TrainConfig) -> dict:
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

    from qa.reading.span_model import SpanModel
    from qa.search.embeddings import model_path

    if config.threads:
        torch.set_num_threads(config.threads)
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(auto if config.device == "auto" else config.device)
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    out = Path(config.out)
    checkpoint = out / "checkpoint"
    base = model_path(config.base)
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.model_max_length = config.max_length

    if config.mine_only and not config.hard_negatives:
        raise SystemExit("--mine-only mines hard negatives: give their number with --hard-negatives N")
    questions = load_squad(config.train, config.limit)
    hard = None
    if config.hard_negatives:
        started = time.time()
        hard = mine_hard_negatives(questions, config.hard_negatives, out / "mining")
        log.info("mined %d hard negatives (%.0f s)", sum(map(len, hard.values())), time.time() - started)
    if config.mine_only:
        return {"config": asdict(config), "steps": 0, "history": []}
    examples = build_examples(questions, config.negatives, random.Random(config.seed), hard)
    started = time.time()
    features = featurize(tokenizer, examples, config.max_length, config.stride)
    n = len(features["input_ids"])
    log.info(
        "%d questions → %d examples → %d windows (%.0f s)", len(questions), len(examples), n, time.time() - started
    )
    # With the shared-norm loss a batch holds whole questions; otherwise windows are drawn one by one.
    packed = question_batches(features["question"], config.batch_size, config.seed) if config.shared_norm else None
    steps_per_epoch = len(packed) if packed else math.ceil(n / config.batch_size)
    total_steps = _schedule_length(asdict(config), steps_per_epoch)
    model = AutoModelForQuestionAnswering.from_pretrained(base, dtype=torch.float32).to(device)
    features = {k: v.to(device) for k, v in features.items()}
    # bf16 autocast on a GPU that has it (several times faster); fp32 elsewhere, the CPU included.
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [p for k, p in model.named_parameters() if not k.endswith(no_decay)],
            "weight_decay": config.weight_decay,
        },
        {"params": [p for k, p in model.named_parameters() if k.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup * total_steps), total_steps)
    step, history = 0, []
    if (checkpoint / "state.pt").exists():
        # Loaded on the CPU; load_state_dict moves each tensor to where its parameter lives.
        state = torch.load(checkpoint / "state.pt", weights_only=False, map_location="cpu")
        if _recipe(state["config"]) != _recipe(asdict(config)):
            raise SystemExit(f"{checkpoint} was made with other settings; remove it to start afresh")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, history = state["step"], state["history"]
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng"):  # dropout on the GPU draws from these
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        log.info("resumed from step %d of %d", step, total_steps)
        if _schedule_length(state["config"], steps_per_epoch) != total_steps:
            # The learning rate picks up on the new linear decay at this step: a warm restart.
            log.info("schedule extended: the learning rate now decays to 0 at step %d", total_steps)
            history.append({"step": step, "schedule_extended_to": total_steps})

    if config.export_only:
        if not step:
            raise SystemExit(f"no checkpoint in {checkpoint} to export")
        log.info("exporting the checkpoint of step %d of %d", step, total_steps)
        total_steps = step

    model.train()
    span_model = SpanModel(model, tokenizer, max_length=config.max_length, stride=config.stride)
    dev = load_squad(config.dev, config.dev_limit or None) if config.dev else []
    window_loss, window_steps, window_start = 0.0, 0, time.time()
    while step < total_steps:
        data_step = step + config.data_offset  # where this step reads in the seeded data order
        epoch, in_epoch = divmod(data_step, steps_per_epoch)
        if packed:
            batch_order = torch.randperm(steps_per_epoch, generator=torch.Generator().manual_seed(config.seed + epoch))
            batch_ids = packed[batch_order[in_epoch]].to(device)
        else:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed + epoch))
            batch_ids = order[in_epoch * config.batch_size : (in_epoch + 1) * config.batch_size].to(device)
        batch = {k: v[batch_ids] for k, v in features.items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            output = model(**{k: v for k, v in batch.items() if k not in ("question", "in_context")})
            loss = output.loss
            if config.shared_norm:
                loss = loss + config.shared_norm * shared_norm_loss(output.start_logits, output.end_logits, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        step += 1
        data_step += 1
        window_loss += loss.item()
        window_steps += 1  # the last window of a run may be shorter than 20 steps
        if step % 20 == 0 or step == total_steps:
            rate = window_steps * config.batch_size / (time.time() - window_start)
            log.info(
                "step %d/%d  epoch %.2f  loss %.3f  %.1f windows/s",
                step,
                total_steps,
                data_step / steps_per_epoch,
                window_loss / window_steps,
                rate,
            )
            window_loss, window_steps, window_start = 0.0, 0, time.time()
        end_of_epoch = data_step % steps_per_epoch == 0 or step == total_steps
        if dev and end_of_epoch:
            scores = evaluate_reader(span_model, dev)
            history.append(
                {
                    "step": step,
                    "epoch": round(data_step / steps_per_epoch, 3),
                    "dev_em": scores.exact_match,
                    "dev_f1": scores.f1,
                    "dev_questions": scores.questions,
                }
            )
            log.info(
                "dev after step %d: EM %.1f  F1 %.1f on %d questions",
                step,
                scores.exact_match,
                scores.f1,
                scores.questions,
            )
        if step % config.checkpoint_every == 0 or end_of_epoch:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, step, history, config)

    summary = {
        "config": asdict(config),
        "windows": n,
        "steps": step,
        "epochs": (step + config.data_offset) / steps_per_epoch,
        "history": history,
    }
    earlier = Path(base) / "training.json"
    if earlier.exists():  # the run whose weights this one starts from
        summary["continues"] = json.loads(earlier.read_text())
    export(model, tokenizer, out)
    (out / "training.json").write_text(json.dumps(summary, indent=1))
    return summary


def _recipe(config: dict) -> dict:
    """The settings a checkpoint must share to be resumed (its length may grow);
    a checkpoint from before a setting existed had its default."""
    ignored = ("export_only", "mine_only", "threads", "device", "checkpoint_every", "max_steps", "epochs", "dev_limit")
    defaults = asdict(TrainConfig(train="", dev=None, out=""))
    return {k: v for k, v in (defaults | config).items() if k not in ignored}


def _schedule_length(config: dict, steps_per_epoch: int) -> int:
    return config["max_steps"] or math.ceil(steps_per_epoch * config["epochs"])


def _save_checkpoint(folder: Path, model, optimizer, scheduler, step: int, history: list, config: TrainConfig) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "step": step,
        "history": history,
        "config": asdict(config),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    tmp = folder / "state.pt.tmp"
    torch.save(state, tmp)
    os.replace(tmp, folder / "state.pt")  # a kill mid-save keeps the previous checkpoint


def export(model, tokenizer, out: Path) -> None:
    """fp16 safetensors weights, config and tokenizer: what the app loads."""
    out.mkdir(parents=True, exist_ok=True)
    half = model.to(torch.float16)
    half.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    model.to(torch.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    defaults = TrainConfig(train="", dev=None, out="")
    parser.add_argument("--train", required=True)
    parser.add_argument("--dev")
    parser.add_argument("--out", required=True)
    for field in (
        "base",
        "max_length",
        "stride",
        "epochs",
        "max_steps",
        "batch_size",
        "lr",
        "warmup",
        "negatives",
        "limit",
        "dev_limit",
        "checkpoint_every",
        "data_offset",
        "seed",
        "threads",
        "device",
        "hard_negatives",
        "shared_norm",
    ):
        value = getattr(defaults, field)
        kind = type(value) if value is not None else int
        parser.add_argument("--" + field.replace("_", "-"), type=kind, default=value)
    parser.add_argument("--export-only", action="store_true", help="export the latest checkpoint's weights and stop")
    parser.add_argument("--mine-only", action="store_true", help="mine the hard negatives into OUT/mining and stop")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    summary = train(TrainConfig(**vars(args)))
    print(json.dumps(summary["history"][-1:] or summary["steps"], indent=1))


if __name__ == "__main__":
    main()
