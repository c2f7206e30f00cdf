"""The task graph: blocked and ready tasks, without recursion."""

from __future__ import annotations

from cloisterctl.tasks.graph import blocked_ids, index, ready, root_of
from cloisterctl.tasks.records import task_from_json


def _chain(depth: int) -> dict[str, object]:
    tasks = [task_from_json({"id": "t0", "title": "root", "status": "open",
                             "dependencies": [{"depends_on_id": "gate", "type": "blocks"}]})]  # fmt: skip
    tasks.append(task_from_json({"id": "gate", "title": "gate", "status": "open"}))
    for n in range(1, depth):
        tasks.append(
            task_from_json(
                {
                    "id": f"t{n}",
                    "title": f"t{n}",
                    "status": "open",
                    "dependencies": [{"depends_on_id": f"t{n - 1}", "type": "parent-child"}],
                }  # fmt: skip
            )
        )
    return index(tasks)  # type: ignore[return-value]


def test_a_5000_deep_parent_chain_under_a_blocked_root_is_blocked_without_recursion() -> None:
    tasks = _chain(5000)
    blocked = blocked_ids(tasks)  # type: ignore[arg-type]
    assert "t4999" in blocked and "t0" in blocked and "gate" not in blocked
    assert [t.id for t in ready(tasks)] == ["gate"]  # type: ignore[arg-type]
    assert root_of(tasks, "t4999") == "t0"  # type: ignore[arg-type]


def test_a_parent_cycle_terminates() -> None:
    a = task_from_json({"id": "a", "title": "a", "dependencies": [{"depends_on_id": "b", "type": "parent-child"}]})
    b = task_from_json({"id": "b", "title": "b", "dependencies": [{"depends_on_id": "a", "type": "parent-child"}]})
    tasks = index([a, b])
    assert blocked_ids(tasks) == set()
    assert {t.id for t in ready(tasks)} == {"a", "b"}
    assert root_of(tasks, "a") in {"a", "b"}
