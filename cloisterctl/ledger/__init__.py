"""The ledger and everything derived from it: events and their schema, the vocabulary of
decisions (their kinds, the trigger names, how flags clear), the monthly segments and the signal
spool, the fold (reducers, the folded state, attempts, spending), checkpoints and the fold cache,
STATE.md (its front matter, its projection, its merge rules) and the statusline summary, and the
``Context`` every command reads and appends through, with its clock and commit point.

Pure modules (``events``, ``decisions``, ``schema``, ``state``, ``reducers``, ``fold``,
``attempts``, ``spending``, ``agent_state``, ``projection``, ``statemerge``, ``statusline``) do no I/O.
"""
