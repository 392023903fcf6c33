"""Thin front ends around the Scanner: command line now; API, milter and hunter later."""

__all__: list[str] = []
