"""What one journal connection committed, so that a reader in the same process can tell which rows its own
writes changed (the dashboard's look re-reads the rows whose renewal state the in-process ARI pass wrote,
not all 10,000 of them). Other processes' commits are not here: SQLite's ``PRAGMA data_version`` shows them.
"""

from __future__ import annotations

from collections.abc import Iterable


class OwnWrites:
    """A count of commits, the commit that last wrote each certificate's renewal state, and the last commit
    that wrote anything else. Not thread-safe: the journal calls it under its lock."""

    def __init__(self) -> None:
        self.commits = 0
        self.states_at: dict[str, int] = {}
        self.other_at = 0

    def committed(self, states: Iterable[str] | None) -> None:
        """Count one commit: of these certificates' renewal states only, or (None) of anything else."""
        self.commits += 1
        if states is None:
            self.other_at = self.commits
        else:
            self.states_at.update(dict.fromkeys(states, self.commits))

    def since(self, mark: int) -> tuple[int, frozenset[str] | None]:
        """(the mark now, the certificates whose state was written after ``mark``); None in place of the
        names when something else was written after it too."""
        if self.other_at > mark:
            return self.commits, None
        if self.commits == mark:
            return mark, frozenset()
        return self.commits, frozenset(name for name, at in self.states_at.items() if at > mark)
