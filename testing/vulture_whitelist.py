"""Names vulture (run by scripts/test.sh at 60% confidence, config in pyproject.toml) cannot see used.

Each entry says why it is used. Nothing else may be unused: a name that is dead goes, not here.
"""

from cloisterctl.cli.app import CloisterGroup
from cloisterctl.cli.routing import TokenCount
from cloisterctl.errors import EXIT_USAGE
from cloisterctl.ledger.decisions import DECISION_KINDS
from cloisterctl.routing.detection import detection_rate
from cloisterctl.routing.economics import Option
from cloisterctl.tick.run import Report
from cloisterctl.triggers.names import RULE_TRIGGERS

# click calls these overrides of its own API.
CloisterGroup.list_commands
CloisterGroup.get_command
TokenCount.convert
# The exit code click itself gives a usage error, named beside ours in the one mapping's module.
EXIT_USAGE
# The vocabularies' values, enumerated where their consistency is held (tests/ledger/test_decisions.py,
# tests/triggers/test_specs.py).
DECISION_KINDS
RULE_TRIGGERS
# Fields of records printed whole (dataclasses.asdict into --json output).
Option.premium_usd
Option.per_turn_usd
Option.saving_per_turn_usd
Report.cost_usd
Report.ledger_events
# The recall of failure detection, exposed for the router (issue 21: the guard at the measured detection).
detection_rate
