"""Work shared as it goes between this process and forked worker processes.

The work is a list of batches, largest first. Each worker takes whole batches from the front (two
at a time, so that it never waits for the next one) and sends back each batch's results; this
process does single items from the back and takes in the workers' results between its own items.
A busy machine so leaves more to this process, and an idle one splits the work evenly. Workers are
forked (they start with the batches in memory: only batch numbers and results cross, through
pipes) and have no threads, so nothing competes with this process for its interpreter.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_INDEX = struct.Struct("<i")
_LENGTH = struct.Struct("<Q")
_STOP = -1


def _read_exactly(fd: int, count: int) -> bytes:
    chunks: list[bytes] = []
    while count:
        chunk = os.read(fd, min(count, 1 << 20))
        if not chunk:
            raise RuntimeError("a worker process ended before sending its results")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def _serve(commands: int, results: int, batches: Sequence[list[T]], run: Callable[[list[T]], list[R]]) -> None:
    """A worker's life: run the batches it is told to, until told to stop."""
    while True:
        raw = os.read(commands, _INDEX.size)
        if len(raw) < _INDEX.size:
            return
        (index,) = _INDEX.unpack(raw)
        if index == _STOP:
            return
        data = pickle.dumps(run(batches[index]), protocol=pickle.HIGHEST_PROTOCOL)
        os.write(results, _LENGTH.pack(len(data)))
        view = memoryview(data)
        while view:
            view = view[os.write(results, view) :]


class _Worker:
    def __init__(self, batches: Sequence[list[T]], run: Callable[[list[T]], list[R]]) -> None:
        commands_read, self.commands = os.pipe()
        self.results, results_write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the worker
            status = 1
            try:
                os.close(self.commands)
                os.close(self.results)
                _serve(commands_read, results_write, batches, run)
                status = 0
            finally:
                os._exit(status)
        os.close(commands_read)
        os.close(results_write)
        self.pending = 0

    def give(self, index: int) -> None:
        os.write(self.commands, _INDEX.pack(index))
        self.pending += 1

    def take(self) -> list[R]:
        (length,) = _LENGTH.unpack(_read_exactly(self.results, _LENGTH.size))
        self.pending -= 1
        found: list[R] = pickle.loads(_read_exactly(self.results, length))
        return found

    def close(self) -> None:
        try:
            os.write(self.commands, _INDEX.pack(_STOP))
        except OSError:
            pass
        os.close(self.commands)
        os.close(self.results)
        os.waitpid(self.pid, 0)


def share(
    batches: list[list[T]], run_one: Callable[[T], R], run_batch: Callable[[list[T]], list[R]], helpers: int
) -> Iterator[R]:
    """Every item's result, in no particular order: ``run_batch`` in ``helpers`` worker processes
    for batches from the front, ``run_one`` here for items from the back."""
    workers: list[_Worker] = []
    try:
        for _ in range(helpers):
            workers.append(_Worker(batches, run_batch))
        front, back = 0, len(batches) - 1  # the workers' next batch; the one this process eats
        for worker in workers:
            for _ in range(2):
                if front < back:
                    worker.give(front)
                    front += 1
        while True:
            busy = [worker for worker in workers if worker.pending]
            if busy:
                wait = None if back < front else 0
                ready = select.select([worker.results for worker in busy], [], [], wait)[0]
                for worker in busy:
                    if worker.results in ready:
                        yield from worker.take()
                        if front < back:
                            worker.give(front)
                            front += 1
            if back >= front:
                last = batches[back]
                yield run_one(last.pop())
                if not last:
                    back -= 1
            elif not busy:
                return
    finally:
        for worker in workers:
            worker.close()
