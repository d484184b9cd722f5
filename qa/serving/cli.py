"""Command line: ``python -m qa index | ask | sources | remove | eval | eval-reader | export-onnx | users | token | audit``
(also installed as ``qa``)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from qa.corpus.articles import ArticleError, CorpusError
from qa.index.store import IndexStore
from qa.pipeline import QAPipeline
from qa.runtime import Engine
from qa.serving.logs import quiet_libraries
from qa.serving.progress import ProgressBar, describe_update
from qa.serving.render import format_answer
from qa.serving.users import UserError, UserStore
from qa.settings import Settings
from qa.types import Filter, QuestionError


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        settings = Settings.from_env(
            corpus_dir=args.corpus, index_dir=args.index, model=args.model, engine=getattr(args, "engine", None)
        )
        return args.command(args, settings)
    except (CorpusError, ArticleError, QuestionError, UserError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the previous index is still in place", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", metavar="DIR", help="folder of articles (default: corpus, or $QA_CORPUS_DIR)")
    common.add_argument("--index", metavar="DIR", help="index folder (default: index, or $QA_INDEX_DIR)")
    common.add_argument(
        "--model", help="sentence-transformers model name or folder (default: the packaged all-MiniLM-L6-v2)"
    )
    common.add_argument(
        "--engine",
        choices=[e.value for e in Engine],
        help="what runs the models (default: onnx-int8, or $QA_ENGINE; see qa/runtime.py)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="show debug messages")

    parser = argparse.ArgumentParser(prog="qa", description="Cited, extractive answers from a folder of news articles.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    index = commands.add_parser("index", parents=[common], help="build or update the index")
    index.add_argument("--rebuild", action="store_true", help="re-embed everything, even unchanged files")
    index.add_argument("--ray", action="store_true", help="embed with Ray Data (a local Ray, or --ray-address)")
    index.add_argument("--ray-address", metavar="ADDR", help="a Ray cluster to embed on (ray://head:10001, auto)")
    index.set_defaults(command=_index)

    _ask_parser(commands, common)

    remove = commands.add_parser(
        "remove", parents=[common], help="take an article out of the corpus and the index (a copy is kept)"
    )
    remove.add_argument("file", metavar="FILE", help="the article's file name, as `qa sources` lists it")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(command=_remove)

    evaluation = commands.add_parser(
        "eval", parents=[common], help="evaluate the whole pipeline on a JSONL or SQuAD file"
    )
    evaluation.add_argument(
        "--data", required=True, metavar="FILE", help="seed_dev-style .jsonl, or SQuAD .json (open mode)"
    )
    evaluation.add_argument("--limit", type=int, help="only the first N questions")
    evaluation.add_argument("--retrieval", choices=["hybrid", "dense", "bm25"], help="retrieval ablation")
    evaluation.add_argument("--no-dedup", action="store_true", help="do not group syndicated copies")
    evaluation.add_argument("--reader", choices=["sentence", "neural", "auto"], help="reader ablation")
    evaluation.add_argument("--json", metavar="OUT", help="write every figure here as JSON")
    evaluation.add_argument("--per-question", action="store_true", help="also print one line per question")
    evaluation.set_defaults(command=_eval)

    reader = commands.add_parser("eval-reader", help="score the neural reader alone on a SQuAD file's gold paragraphs")
    reader.add_argument("--squad", required=True, metavar="FILE", help="SQuAD v1.1 or v2.0 JSON")
    reader.add_argument("--limit", type=int, help="only the first N questions")
    reader.add_argument("--predictions", metavar="OUT.json", help="write {question_id: answer} here")
    reader.add_argument("--reader-model", metavar="DIR", help="reader weights (default: the shipped reader)")
    reader.add_argument(
        "--null-margin",
        type=float,
        nargs="+",
        metavar="M",
        help="abstain unless the best span beats no-answer by M (SQuAD 2.0); several values: one line each",
    )
    reader.add_argument("--engine", choices=[e.value for e in Engine], help="what runs the reader (default: torch)")
    reader.add_argument("-v", "--verbose", action="store_true", help="show debug messages")
    reader.set_defaults(command=_eval_reader, corpus=None, index=None, model=None)

    export = commands.add_parser(
        "export-onnx", help="export the reader (fp32 and int8) and the query encoder to ONNX ahead of first use"
    )
    export.add_argument("--reader-model", metavar="DIR", help="reader weights (default: the shipped reader)")
    export.add_argument("-v", "--verbose", action="store_true", help="show debug messages")
    export.set_defaults(command=_export_onnx, corpus=None, index=None, model=None)

    sources = commands.add_parser("sources", parents=[common], help="list the indexed articles")
    sources.add_argument("--json", action="store_true", help="print as JSON")
    sources.set_defaults(command=_sources)
    _access_parsers(commands)
    return parser


def _access_parsers(commands) -> None:
    """``qa users``, ``qa token`` and ``qa audit``: who may use a served app, and what was done."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--index", metavar="DIR", help="index folder (default: index, or $QA_INDEX_DIR)")
    where.add_argument("--users", metavar="FILE", help="users file (default: <index>/users.json, or $QA_USERS)")
    where.add_argument("-v", "--verbose", action="store_true", help="show debug messages")
    where.set_defaults(corpus=None, model=None)

    users = commands.add_parser("users", help="add, list or remove the users who may log in to the app")
    users_commands = users.add_subparsers(required=True, metavar="ACTION")
    add = users_commands.add_parser(
        "add", parents=[where], help="add a user; the password is read from the terminal (or one line of stdin)"
    )
    add.add_argument("name")
    add.add_argument("--role", choices=["reader", "editor"], required=True, help="reader: asks; editor: also writes")
    add.set_defaults(command=_users_add)
    listing = users_commands.add_parser("list", parents=[where], help="list users and their tokens' ids")
    listing.set_defaults(command=_users_list)
    remove = users_commands.add_parser("remove", parents=[where], help="remove a user and their tokens")
    remove.add_argument("name")
    remove.set_defaults(command=_users_remove)

    token = commands.add_parser("token", help="create or revoke API tokens (Authorization: Bearer …)")
    token_commands = token.add_subparsers(required=True, metavar="ACTION")
    create = token_commands.add_parser("create", parents=[where], help="print a new token for a user, once")
    create.add_argument("name", help="the user the token acts as")
    create.set_defaults(command=_token_create)
    revoke = token_commands.add_parser("revoke", parents=[where], help="revoke a token, by its id or itself")
    revoke.add_argument("token", metavar="ID_OR_TOKEN")
    revoke.set_defaults(command=_token_revoke)

    audit_log = commands.add_parser("audit", parents=[where], help="show the latest uploads, removals and logins")
    audit_log.add_argument("-n", type=int, default=20, help="how many entries (default 20)")
    audit_log.add_argument("--json", action="store_true", help="print JSON lines")
    audit_log.set_defaults(command=_audit)


def _ask_parser(commands, common: argparse.ArgumentParser) -> None:
    ask = commands.add_parser("ask", parents=[common], help="answer a question with citations")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer object as JSON")
    ask.add_argument("--k", type=int, help="number of passages to cite (default 5)")
    ask.add_argument("--history", metavar="JSON", help='earlier turns: [{"role": "user", "content": "..."}, ...]')
    ask.add_argument("--outlet", action="append", default=[], help="ask only this outlet's articles (repeatable)")
    ask.add_argument("--from", dest="published_from", type=_date, metavar="DATE", help="published on or after (ISO)")
    ask.add_argument("--to", dest="published_to", type=_date, metavar="DATE", help="published on or before (ISO)")
    ask.set_defaults(command=_ask)


def _date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: write it as YYYY-MM-DD") from None


def _index(args: argparse.Namespace, settings: Settings) -> int:
    with contextlib.ExitStack() as stack:
        embed = None
        if args.ray or args.ray_address:
            from qa.index.ray_build import ray_embedder

            embed = stack.enter_context(ray_embedder(settings.model, args.ray_address, settings.embed_batch_size))
        with ProgressBar() as bar:
            index, report = IndexStore(settings, embed).update(bar, force=args.rebuild)
    print(describe_update(report, len(index.paragraphs)))
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    history = json.loads(args.history) if args.history else []
    with ProgressBar() as bar:
        bot = QAPipeline(settings, progress=bar)
    only = Filter(tuple(args.outlet), args.published_from or "", args.published_to or "")
    answer = bot.ask(args.question, history, k=args.k, only=only)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer, bot.articles()))
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    from qa.corpus.library import prune_backups, remove_article

    source = Path(args.file).name if Path(args.file).parent == Path(settings.corpus_dir) else args.file
    if not args.yes:
        reply = input(f"Remove {source} from {settings.corpus_dir} and the index? A copy is kept. [y/N] ")
        if reply.strip().lower() not in ("y", "yes"):
            print("Nothing removed.")
            return 1
    backups = settings.index_dir / "replaced"
    kept = remove_article(settings.corpus_dir, source, backups)
    with ProgressBar() as bar:
        index, report = IndexStore(settings).update(bar)
    prune_backups(backups)
    print(describe_update(report, len(index.paragraphs)))
    print(f"A copy of {source} is kept in {kept}.")
    return 0


def _sources(args: argparse.Namespace, settings: Settings) -> int:
    with ProgressBar() as bar:
        bot = QAPipeline(settings, progress=bar)
    sources = bot.sources()
    if args.json:
        print(json.dumps([s.to_dict() for s in sources], ensure_ascii=False, indent=2))
        return 0
    status = bot.status()
    print(
        f"{status['articles']} articles, {status['paragraphs']} paragraphs; model {status['model']}; built {status['built_at']}"
    )
    for s in sources:
        outlet = f" — {s.outlet}" if s.outlet else ""
        print(f"  {s.source}  ({s.paragraphs} paragraphs, added {s.added[:10]})  {s.title}{outlet}")
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from qa.evaluation.evaluate import format_report, format_rows, run_eval

    settings = settings.replace(
        **{k: v for k, v in {"retrieval": args.retrieval, "reader": args.reader}.items() if v},
        group_duplicates=not args.no_dedup,
    )
    report = run_eval(args.data, settings, args.limit)
    if args.per_question:
        print(format_rows(report) + "\n")
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=1), "utf-8")
    return 0


def _eval_reader(args: argparse.Namespace, settings: Settings) -> int:
    from qa.evaluation.squad import load_squad, read_gold_paragraphs
    from qa.reading.neural import SHIPPED_READER, load_span_model

    path = args.reader_model or settings.reader_model or str(SHIPPED_READER)
    questions = load_squad(args.squad, args.limit)
    engine = args.engine or Engine.TORCH.value  # the reference: what the reader was trained and scored with
    reading = read_gold_paragraphs(load_span_model(path, engine, str(settings.cache_dir)), questions)
    for i, margin in enumerate(args.null_margin or [None]):
        scores = reading.scores(margin)
        line = f"{scores.questions} questions: EM {scores.exact_match:.2f}  F1 {scores.f1:.2f}"
        if margin is not None:
            line = f"null margin {margin:g}: " + line
        if scores.no_answer_accuracy is not None:
            line += f"  (no-answer accuracy {scores.no_answer_accuracy:.1f}, has-answer F1 {scores.has_answer_f1:.1f})"
        print(line)
        if args.predictions and i == 0:
            Path(args.predictions).write_text(json.dumps(scores.predictions, ensure_ascii=False, indent=1), "utf-8")
    return 0


def _export_onnx(args: argparse.Namespace, settings: Settings) -> int:
    from qa.reading.neural import SHIPPED_READER
    from qa.runtime import encoder_file, reader_file
    from qa.search.embeddings import model_path

    reader = args.reader_model or settings.reader_model or str(SHIPPED_READER)
    for engine in (Engine.ONNX, Engine.ONNX_INT8):
        print(f"reader, {engine.value}: {reader_file(reader, engine, settings.cache_dir)}")
    print(f"query encoder: {encoder_file(model_path(settings.model), settings.cache_dir)}")
    return 0


def _store(args: argparse.Namespace, settings: Settings) -> UserStore:
    return UserStore(Path(args.users) if getattr(args, "users", None) else settings.users_path)


def _password() -> str:
    """The new user's password: asked twice on a terminal, else one line of standard input."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise UserError("the two passwords differ; nothing was changed")
    return first


def _users_add(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(args, settings)
    user = store.add(args.name, args.role, _password())
    print(f"Added {user.name} ({user.role.value}) to {store.path}.")
    return 0


def _users_list(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(args, settings)
    users = store.users()
    if not users:
        print(f"No users in {store.path}; add one with qa users add NAME --role editor.")
    for user in users:
        tokens = ", ".join(t.id for t in store.tokens(user.name)) or "none"
        print(f"{user.name:<20} {user.role.value:<7} tokens: {tokens}")
    return 0


def _users_remove(args: argparse.Namespace, settings: Settings) -> int:
    gone = _store(args, settings).remove(args.name)
    print(f"Removed {args.name}" + (f" and {gone} token(s)." if gone else "."))
    return 0


def _token_create(args: argparse.Namespace, settings: Settings) -> int:
    token, info = _store(args, settings).create_token(args.name)
    print(token)
    print(
        f"A token for {info.user} (id {info.id}): it is shown only now. Send it as Authorization: Bearer <token>; "
        f"qa token revoke {info.id} revokes it.",
        file=sys.stderr,
    )
    return 0


def _token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    info = _store(args, settings).revoke_token(args.token)
    print(f"Revoked token {info.id} of {info.user}.")
    return 0


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from qa.serving import audit

    entries = audit.latest(settings.index_dir, args.n)
    if not entries:
        print(f"Nothing recorded yet in {settings.index_dir / audit.FILE_NAME}.")
    for entry in entries:
        print(json.dumps(entry, ensure_ascii=False) if args.json else audit.describe(entry))
    return 0


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.DEBUG if verbose else logging.WARNING)
    # qa's own corpus and index loggers too: skipped files are reported once, in the command's own summary.
    quiet_libraries(logging.DEBUG if verbose else logging.ERROR, "qa.corpus.articles", "qa.index")
