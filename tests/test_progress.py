"""`Progress` without a terminal (a server's log, CI): a line with the count, the share and the time left."""
import logging

import ragjet
from ragjet import progress


def test_progress_logs_count_share_and_time_left_when_no_bar_is_drawn(monkeypatch, caplog):
    monkeypatch.setattr(ragjet.LOG, "propagate", True)
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    with caplog.at_level(logging.INFO, logger="ragjet"):
        with progress.Progress(40, "embedding group 'MediumChunk'", "chunk") as bar:
            for _ in range(4):
                bar.update(10)
    lines = list(dict.fromkeys(r.getMessage() for r in caplog.records))  # caplog may see a record twice
    assert lines[0].startswith("embedding group 'MediumChunk': 10 of 40 chunks (25%), about ")
    assert [line.split(":")[1].split("(")[0].strip() for line in lines] == ["10 of 40 chunks", "20 of 40 chunks",
                                                                          "30 of 40 chunks"]  # none once done
