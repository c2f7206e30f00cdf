"""Routing: a task's complexity level, the start tier (static rules or the adaptive policy), the
economics of a tier change, the next task after a close, the outcomes report, the routing report,
and replays of known outcomes. Pure rules apart from the I/O (``route``, ``outcomes``,
``report_gather``, ``replay_run``, ``history``, ``overrides``, ``report_page``).
"""
