"""Handoffs: the packet a new session starts from and its prompt, the state machine that moves an
agent to a new session (kill-and-spawn), each step made safe to repeat, recovery when a successor
dies, and follow-ups carried out on the running agent.
"""
