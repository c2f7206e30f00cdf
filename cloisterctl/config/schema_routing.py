"""The ``routing`` section of the config schema: which policy picks a task's start tier, with defaults.

``static`` is ``complexity_routing`` as written. ``adaptive`` (the default) starts from it and
moves by the recorded outcomes (``routing.adaptive``): with no outcomes yet it routes exactly as
``static`` does, and its quality guard keeps it from starting where success trails the best tier.
"""

from __future__ import annotations

from cloisterctl.config.spec import Section, number, string

ROUTING = Section(
    {
        "policy": string(choices=("static", "adaptive"), default="adaptive", doc="how the start tier is chosen"),
        # Never start on a tier whose estimated success trails the best tier's by more than this.
        "min_success": number(0, 1, default=0.05),
        # What moving a task up a tier costs on top of the new attempt (USD: the packet, a fresh start).
        "handoff_usd": number(0, 1e6, default=0.05),
        # The Beta prior per level x tier: the statically routed tier and those above it start at
        # optimistic_prior, those below at pessimistic_prior, each worth prior_strength outcomes.
        "prior_strength": number(0.01, 1000, default=2),
        "optimistic_prior": number(0.01, 0.99, default=0.8),
        "pessimistic_prior": number(0.01, 0.99, default=0.4),
        # A JSON file of counts from other workspaces (`report routing --json` writes the shape),
        # added to this workspace's own; ~ is the home directory. null: none.
        "history": string("a file path", nullable=True, default=None, trust=True),  # a path read
    }
)
