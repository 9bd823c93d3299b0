"""``ragjet index``: index a folder into a store now (only what changed since the last run)."""
from __future__ import annotations

import argparse

from ..data import sample_corpus
from .options import add_doc_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_doc_options(parser)


def run(args: argparse.Namespace) -> int:
    import ragjet

    docs_dir = args.docs or sample_corpus()
    embed = None if args.embed.lower() == "none" else ragjet.TrainableModule(args.embed)
    doc = ragjet.Document(docs_dir, embed=embed, store_conf=args.store)
    ragjet.Retriever(doc, group_name=args.group, similarity=args.similarity).start()
    stats = doc.stats
    print(f"{docs_dir}: {stats.files_seen} files ({stats.files_parsed} parsed, {stats.files_deleted} removed), "
          f"{stats.chunks_embedded} chunks embedded, {stats.cache_hits} from the embedding cache, "
          f"{doc.store.count(args.group)} {args.group} chunks stored, in {stats.seconds.get('sync', 0.0):.2f} s")
    if doc.read_report and doc.read_report.total_skipped:
        print(doc.read_report.summary())
    return 0
