"""Background commits: one at a time, in order, errors surfaced, never left in flight."""

import threading
import time

import pytest

from ml_platform.lib.ingestion.spool import BackgroundCommits


def test_commits_run_one_at_a_time_in_order_off_the_calling_thread() -> None:
    done: list[tuple[int, str]] = []
    running: list[int] = []

    def commit(n: int):
        def run() -> None:
            running.append(n)
            assert len(running) == 1, "two commits ran at once"
            time.sleep(0.02)
            done.append((n, threading.current_thread().name))
            running.remove(n)

        return run

    with BackgroundCommits() as commits:
        for n in range(4):
            commits.submit(commit(n))
    assert [n for n, _ in done] == [0, 1, 2, 3]
    assert all(name.startswith("ingestion-commit") for _, name in done)


def test_a_failed_commit_is_raised_by_the_next_submit() -> None:
    ran: list[str] = []

    def fail() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"), BackgroundCommits() as commits:
        commits.submit(fail)
        commits.submit(lambda: ran.append("second"))
    assert ran == []  # nothing after a failed commit runs


def test_leaving_the_block_on_an_error_waits_for_the_commit_in_flight() -> None:
    finished: list[str] = []

    def slow() -> None:
        time.sleep(0.3)
        finished.append("written")

    with pytest.raises(ValueError, match="parse"), BackgroundCommits() as commits:
        commits.submit(slow)
        raise ValueError("parse error")  # e.g. the next file failed while the piece is written
    assert finished == ["written"]  # done before the block was left (then a restore is safe)
