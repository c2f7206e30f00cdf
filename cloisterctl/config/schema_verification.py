"""The ``verification`` section of the config schema: the check a close goes through before it counts.

When a task closes on a tier below ``below_tier``, the tick starts the task's verification
(``testruns.verification``): ``tests.command`` (when ``tests`` is true), compared with the same
command at the attempt's base commit so a failure that was there before is not blamed on the agent,
and the per-task command a ``verify:NAME`` label names, taken only from ``commands`` here (the
label is the tracker's, i.e. anyone's: only a name; the program is the trusted config's); and,
with ``reviewer`` set, a reviewer session on that tier (``testruns.review``). ``commands`` names
programs and ``reviewer`` starts one, so both are trusted keys (``config.trust``).
"""

from __future__ import annotations

from cloisterctl.config.spec import AnyOf, Section, Seq, Table, boolean, integer, number, string
from cloisterctl.models.tiers import TIERS

_ARGV = AnyOf((string(), Seq(string())), name="a command (a string or a list of arguments)")

VERIFICATION = Section(
    {
        # Closes on a tier below this one are verified before they count (opus: haiku and sonnet closes).
        "below_tier": string(choices=TIERS, default="opus", doc="closes on tiers below this are verified"),
        # Run tests.command (and the same at the attempt's base commit, to blame only new failures).
        "tests": boolean(default=True),
        # Per-task commands by name, for a task labelled verify:NAME (never a command from the tracker).
        "commands": Table(_ARGV, default={}, trust=True),
        "label_prefix": string(default="verify:"),
        # A verification running longer is killed and recorded as failed to run (no verdict).
        "timeout_seconds": number(1, 86400, default=900),
        # Compare with the tests at the attempt's base commit (a temporary checkout of it).
        "compare_base": boolean(default=True),
        # A reviewer on this tier must pass a close whose commands passed (or that had none): a fresh
        # session of role test-agent from a small review packet (``testruns.review``). It starts the
        # agent CLI (runtime.spawn) and spends on that tier: a trusted key. null: no reviewer.
        "reviewer": string(choices=TIERS, nullable=True, default=None, trust=True),
        # A reviewer that has written no verdict by then is stopped; the verification is an error.
        "review_timeout_seconds": number(60, 86400, default=1800),
        # The attempt's diff in the review packet is cut at this many characters.
        "review_diff_chars": integer(1000, 1_000_000, default=40_000),
    }
)
