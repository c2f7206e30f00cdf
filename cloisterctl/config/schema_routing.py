"""The ``routing`` section of the config schema: which policy picks a task's start tier, with defaults.

``static`` is ``complexity_routing`` as written. ``adaptive`` (the default) starts from it and
moves by the recorded outcomes (``routing.adaptive``): with no outcomes yet it routes exactly as
``static`` does, and its quality guard keeps it from starting where success trails the best tier.
"""

from __future__ import annotations

from cloisterctl.config.spec import Section, integer, number, string

ROUTING = Section(
    {
        "policy": string(choices=("static", "adaptive"), default="adaptive", doc="how the start tier is chosen"),
        # Never start on a tier whose estimated success trails the best tier's by more than this.
        "min_success": number(0, 1, default=0.03),
        # What moving a task up a tier costs on top of the new attempt (USD: the packet, a fresh start).
        "handoff_usd": number(0, 1e6, default=0.05),
        # The Beta prior per level x tier, worth prior_strength outcomes: centred on the level's pooled
        # success (seeded with optimistic_prior before any outcome); tiers below the statically routed
        # one at that centre x pessimistic_prior / optimistic_prior.
        "prior_strength": number(0.01, 1000, default=4),
        "optimistic_prior": number(0.01, 0.99, default=0.8),
        "pessimistic_prior": number(0.01, 0.99, default=0.4),
        # Exploration: each tier that may start gets explore_min costed starts at a level first (a
        # price is not a cost); then a tier that could still be the choice, with fewer than
        # explore_min outcomes, is tried while its starts stay within explore_share of the level's.
        "explore_min": integer(0, 1000, default=3),
        "explore_share": number(0, 1, default=0.2),
        # A JSON file of counts from other workspaces (`report routing --json` writes the shape),
        # added to this workspace's own; ~ is the home directory. null: none.
        "history": string("a file path", nullable=True, default=None, trust=True),  # a path read
    }
)
