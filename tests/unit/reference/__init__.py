"""Slow reference implementations of the pure core, kept only for tests.

These are the straightforward (pre-optimisation) versions of validation, the rules,
the annotations and the planner, verbatim apart from their imports. The equivalence
tests (test_fast_paths.py) run them side by side with syncer's optimised code on
random messy tables and require identical findings, rule results and plans.
They are not used by syncer itself.
"""
