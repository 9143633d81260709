"""Proxy-mode business execution (SPEC §7): signed single-use codes, holds, agents, reversals."""
