"""Who and what an API response is for, from the ledger's session, route and spawn events. Pure."""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cloisterctl.ledger.state import WorkspaceState


@dataclass(frozen=True)
class Attribution:
    """Who and what a response is for, from the ledger.

    A session belongs to the agent named by its ``session`` events (spawn and hook records win
    over ones cloisterctl wrote on finding a transcript); a session with none, in this workspace's
    project dir, belongs to the workspace's agent. The task is the session's own task when a
    ``session`` event names one, else the agent's task at the response's time: the ``task`` of its
    latest ``route`` event (or ``handoff`` event of step ``spawned`` that names a task) at or
    before that time."""

    agent: str
    own_projects: frozenset[str]
    session_agents: Mapping[str, str]
    session_tasks: Mapping[str, str]
    transcripts: tuple[str, ...]  # transcript paths named by session events
    windows: Mapping[str, tuple[tuple[str, ...], tuple[str | None, ...]]]

    @classmethod
    def from_state(cls, state: WorkspaceState, own_projects: Iterable[str]) -> Attribution:
        """The attribution of the whole ledger, from what the fold keeps (``ledger.state.ColdState``)."""
        cold = state.cold
        windows = {
            name: (tuple(ts for ts, _task in steps), tuple(task for _ts, task in steps))
            for name, steps in cold.task_windows.items()
        }
        return cls(
            state.agent,
            frozenset(own_projects),
            {**cold.found_agents, **cold.session_agents},
            dict(cold.session_tasks),
            tuple(sorted(cold.transcripts)),
            windows,
        )

    def agent_for(self, session: str, project: str) -> str | None:
        return self.session_agents.get(session) or (self.agent if project in self.own_projects else None)

    def task_for(self, agent: str | None, session: str | None, ts: str) -> str | None:
        if session and session in self.session_tasks:
            return self.session_tasks[session]
        window = self.windows.get(agent) if agent else None
        if not window:
            return None
        index = bisect.bisect_right(window[0], ts) - 1
        return window[1][index] if index >= 0 else None

    def digest(self) -> str:
        data = [
            self.agent,
            sorted(self.own_projects),
            sorted(self.session_agents.items()),
            sorted(self.session_tasks.items()),
            list(self.transcripts),
            sorted((name, list(ts), list(tasks)) for name, (ts, tasks) in self.windows.items()),
        ]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()
