"""Pure rules, no I/O: complexity, routing, economics, the fold, triggers and guards, the task graph,
the handoff packet, cost attribution and tallying. Inputs come in as data; decisions go out as data.
"""
