from __future__ import annotations

import os

import pytest

from cloisterctl.cost.transcripts.workers import share


def where(batch: list[int]) -> list[tuple[int, int]]:
    return [(os.getpid(), item * item) for item in batch]


def test_work_is_shared_with_worker_processes_and_every_item_done_once() -> None:
    batches = [[index * 10 + offset for offset in range(10)] for index in range(12)]
    items = [item for batch in batches for item in batch]
    found = list(share([list(batch) for batch in batches], lambda item: (os.getpid(), item * item), where, 2))
    assert sorted(square for _pid, square in found) == sorted(item * item for item in items)
    pids = {pid for pid, _square in found}
    assert os.getpid() in pids and len(pids) == 3  # this process and both workers did some


def test_a_worker_that_fails_is_an_error_not_a_hang() -> None:
    def broken(batch: list[int]) -> list[int]:
        raise ValueError("no")

    with pytest.raises(RuntimeError, match="worker process ended"):
        list(share([[1], [2], [3], [4]], lambda item: item, broken, 1))
