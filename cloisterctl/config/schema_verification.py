"""The ``verification`` section of the config schema: the check a close goes through before it counts.

When a task closes on a tier below ``below_tier``, the tick starts the task's verification
(``testruns.verification``): ``tests.command`` (when ``tests`` is true), compared with the same
command at the attempt's base commit so a failure that was there before is not blamed on the agent,
and the per-task command a ``verify:NAME`` label names, taken only from ``commands`` here (the
label is the tracker's, i.e. anyone's: only a name; the program is the trusted config's).
``commands`` names programs, so it is a trusted key (``config.trust``).
"""

from __future__ import annotations

from cloisterctl.config.spec import AnyOf, Section, Seq, Table, boolean, number, string
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
    }
)
