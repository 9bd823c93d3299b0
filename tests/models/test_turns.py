"""TurnQueue: callers take turns in arrival order, see their place while waiting, and may leave the queue."""
import threading
import time

import pytest

from ragjet.models.turns import TurnCancelled, TurnQueue, waiting_as

WAIT_S = 10


def test_waiters_get_their_position_and_run_in_order():
    queue, order, positions = TurnQueue(), [], {}
    holding, release = threading.Event(), threading.Event()

    def first():
        with queue.turn():
            holding.set()
            release.wait(WAIT_S)
            order.append("first")

    def later(name):
        seen = positions.setdefault(name, [])
        with waiting_as(seen.append, lambda: False), queue.turn():
            order.append(name)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert holding.wait(WAIT_S)
    for name in ("second", "third"):
        threads.append(threading.Thread(target=later, args=(name,)))
        threads[-1].start()
        deadline = time.monotonic() + WAIT_S
        while not positions.get(name) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert queue.waiting == 2
    release.set()
    for t in threads:
        t.join(WAIT_S)
    assert order == ["first", "second", "third"]
    assert positions["second"] == [1]
    assert positions["third"][0] == 2 and positions["third"] == sorted(positions["third"], reverse=True)


def test_a_caller_that_went_away_leaves_the_queue():
    queue, gone, ran = TurnQueue(), threading.Event(), []
    holding, release = threading.Event(), threading.Event()

    def first():
        with queue.turn():
            holding.set()
            release.wait(WAIT_S)

    def leaver():
        with waiting_as(lambda n: None, gone.is_set), queue.turn():
            ran.append("leaver")

    errors = []
    t1 = threading.Thread(target=first)
    t1.start()
    assert holding.wait(WAIT_S)
    t2 = threading.Thread(target=lambda: _catch(leaver, errors))
    t2.start()
    while queue.waiting == 0:
        time.sleep(0.01)
    gone.set()
    t2.join(WAIT_S)
    assert queue.waiting == 0 and not ran and isinstance(errors[0], TurnCancelled)
    release.set()
    t1.join(WAIT_S)
    with queue.turn():  # the queue is free again
        pass


def _catch(fn, errors):
    try:
        fn()
    except Exception as exc:
        errors.append(exc)


def test_an_exception_inside_a_turn_frees_it():
    queue = TurnQueue()
    with pytest.raises(RuntimeError):
        with queue.turn():
            raise RuntimeError("boom")
    with queue.turn():
        assert queue.waiting == 0
