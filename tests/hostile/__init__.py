"""Hostile inputs (issue 10): each test holds the input that broke syncer before."""
