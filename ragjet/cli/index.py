"""``ragjet index``: index a folder into a store now (only what changed since the last run)."""
from __future__ import annotations

import argparse

from .options import add_doc_options, document


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_doc_options(parser)


def run(args: argparse.Namespace) -> int:
    import ragjet

    doc, similarity = document(args)
    ragjet.Retriever(doc, group_name=args.group, similarity=similarity).start()
    stats = doc.stats
    print(f"{doc.dataset_path}: {stats.files_seen} files ({stats.files_parsed} parsed, {stats.files_deleted} removed), "
          f"{stats.chunks_embedded} chunks embedded, {stats.cache_hits} from the embedding cache, "
          f"{doc.store.count(args.group)} {args.group} chunks stored, in {stats.seconds.get('sync', 0.0):.2f} s")
    if doc.read_report and doc.read_report.total_skipped:
        print(doc.read_report.summary())
    return 0
