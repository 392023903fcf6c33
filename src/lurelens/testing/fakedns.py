"""An in-memory DNS for unit tests of the authentication logic (the integration tests use a real
Knot DNS server): ``FakeResolver({"example.com": {"TXT": ["v=spf1 -all"]}}, fail={"slow.example"})``."""

from __future__ import annotations

import time

from lurelens.auth.resolver import DnsAnswer, StaticResolver

__all__ = ["FakeResolver"]


class FakeResolver(StaticResolver):
    """Names it holds answer NOERROR (empty for other types), others NXDOMAIN; names in ``fail``
    answer TIMEOUT. ``queries`` lists every question asked, for budget and cache tests."""

    def __init__(self, zone: dict[str, dict[str, list[str]]], *, fail: set[str] | frozenset[str] = frozenset(),
                 ttl: int = 300):
        now = time.time()
        super().__init__(
            (DnsAnswer(name.rstrip(".").lower(), rtype.upper(), "NOERROR", tuple(data), ttl, now)
             for name, types in zone.items() for rtype, data in types.items()),
            missing="NXDOMAIN",
        )
        self.names = {n.rstrip(".").lower() for n in zone}
        self.fail = {n.rstrip(".").lower() for n in fail}
        self.queries: list[tuple[str, str]] = []

    def query(self, name: str, rtype: str) -> DnsAnswer:
        key = (name.rstrip(".").lower(), rtype.upper())
        self.queries.append(key)
        if key[0] in self.fail:
            return DnsAnswer(key[0], key[1], "TIMEOUT", (), 0, time.time())
        if key not in self.answers and key[0] in self.names:
            return DnsAnswer(key[0], key[1], "NOERROR", (), 60, time.time())
        return super().query(*key)
