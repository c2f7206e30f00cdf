"""Records used by every layer, stdlib only: tiers and levels, tasks, events, prices, usage."""
