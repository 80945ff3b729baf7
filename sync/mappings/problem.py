"""One thing wrong with a mapping configuration, and how a list of them becomes one error.

Checks collect every problem they find instead of stopping at the first, so an admin fixing a
mapping file sees everything at once::

    customers.json has 2 problems; fix them and import again:
      - mapping CUSTOMER, field displayName ⇄ nmae: Dataverse table account has no column 'nmae'
        (did you mean 'name'?); use a column of account
      - mapping CONTACT: depends_on names CUSTOMR, which is not a mapping here ...
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sync.errors import MappingError


@dataclass(frozen=True, slots=True)
class MappingProblem:
    """What is wrong, where, and (in ``message``) how to fix it.

    Attributes:
        message: What is wrong and how to fix it, without the location.
        mapping: The table mapping's name, when the problem belongs to one.
        field: The BC field or Dataverse column at fault, when there is one.
        field_label: How the field mapping is named, for example ``displayName ⇄ name``.
    """

    message: str
    mapping: str | None = None
    field: str | None = None
    field_label: str | None = None

    def describe(self) -> str:
        """The problem with its location, for example ``mapping CUSTOMER, field a ⇄ b: ...``."""
        if self.mapping is None:
            return self.message
        where = f"mapping {self.mapping}"
        if self.field_label is not None:
            where += f", field {self.field_label}"
        return f"{where}: {self.message}"


def problems_error(problems: Sequence[MappingProblem], *, source: str) -> MappingError:
    """One ``MappingError`` listing every problem; ``mapping``/``field`` come from the first.

    Args:
        problems: At least one problem.
        source: What was checked, for example the mapping file's name.

    Returns:
        The error to raise.
    """
    count = len(problems)
    noun = "problem" if count == 1 else "problems"
    lines = [f"{source} has {count} {noun}; fix {'it' if count == 1 else 'them'} and try again:"]
    lines.extend(f"  - {problem.describe()}" for problem in problems)
    first = problems[0]
    return MappingError("\n".join(lines), mapping=first.mapping, field=first.field)


def suggest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or nothing."""
    candidates = [candidate for candidate in known if candidate != name]
    by_case = [c for c in candidates if c.lower() == name.lower()]
    close = by_case or difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
