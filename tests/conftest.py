"""The fixtures live in ``testing.fixtures``; pytest finds them through this import."""

from __future__ import annotations

from testing.fixtures import (
    agent_ws,
    bd_on_path,
    hooks_repo,
    isolated_env,
    pc_env,
    pre_commit_home,
    repo,
    tmux_socket,
    workspace,
)

__all__ = [
    "agent_ws",
    "bd_on_path",
    "hooks_repo",
    "isolated_env",
    "pc_env",
    "pre_commit_home",
    "repo",
    "tmux_socket",
    "workspace",
]
