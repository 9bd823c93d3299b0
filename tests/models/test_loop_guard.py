"""stop_loops: a streamed answer that starts repeating itself ends there, without delaying the first words."""
import pytest

from ragjet.models.loop_guard import LoopGuard, repeats, stop_loops


def pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


class Source:
    """A scripted token stream that records whether it was closed (generation stopped) and how far it got."""

    def __init__(self, items: list[str]) -> None:
        self.items = items
        self.given = 0
        self.closed = False

    def __iter__(self):
        try:
            for item in self.items:
                self.given += 1
                yield item
        finally:
            self.closed = True


LOOP = "The second start is fast because it reads the ledger. " * 6


@pytest.mark.parametrize("size", [1, 2, 3, 5, 11])
def test_a_looping_english_answer_stops_at_its_second_copy(size):
    source = Source(pieces(LOOP, size))
    out = "".join(stop_loops(source))
    assert out.rstrip() == "The second start is fast because it reads the ledger. The second start is fast because it"
    assert not repeats(out)  # no 6-word run three times
    assert source.closed and source.given < len(source.items)  # generation was stopped early


def test_a_looping_chinese_answer_stops_by_characters():
    out = "".join(stop_loops(Source(list("第二次启动很快，因为它读取了账本。" * 4))))
    assert out == "第二次启动很快，因为它读取了账本。第二次启动很快"


def test_a_normal_answer_passes_unchanged_in_any_piece_size():
    text = "The map store keeps every node in memory [1]. It is the fastest store, and the right choice " \
           "while you explore a corpus [1]. 第二次启动很快 [2]."
    for size in (1, 4, 9, len(text)):
        assert "".join(stop_loops(pieces(text, size))) == text


def test_the_first_words_are_not_held_back():
    guard = LoopGuard()
    assert [guard.feed(p) for p in ["Hel", "lo", " wor", "ld"]] == ["Hel", "lo", " wor", "ld"]
    assert guard.flush() == ""


def test_later_words_wait_for_their_end_and_flush_gives_the_last():
    guard = LoopGuard()
    shown = [guard.feed(p) for p in ["a b c d e f g", "h", "i"]]
    assert shown == ["a b c d e f", "", ""]  # from the 6th word on, a word shows once it is complete
    assert guard.flush() == " ghi"


def test_no_six_gram_appears_three_times_even_in_a_varied_loop():
    # the same 6 words between different words: only the (6, 3) rule catches this one
    text = "".join(f"x{i} one two three four five six " for i in range(5))
    out = "".join(stop_loops(pieces(text, 3)))
    assert out.count("one two three four five six") == 2 and not repeats(out)


def test_rules_are_configurable_and_checked():
    assert "".join(stop_loops(pieces(LOOP, 4), rules=[(20, 3)])).count("ledger") == 3
    with pytest.raises(ValueError, match="count ≥ 2"):
        LoopGuard([(6, 1)])
