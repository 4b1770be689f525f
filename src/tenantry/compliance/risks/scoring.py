"""How a risk is scored, in one place (the service, the API, the pages and the heat map
all read it from here).

A risk's score is likelihood x impact, each rated 1..5, so 1..25: the inherent score
from the risk's own likelihood and impact, the residual score from the likelihood and
impact expected once the treatment is in place. The level of a score is its band:

========  ========
level     scores
========  ========
low       1-4
medium    5-9
high      10-16
critical  17-25
========  ========

(The bands of the usual 5x5 matrix: a 4 x 4 is high, a 5 x 4 is critical; a 3 x 3 is the
top of medium.)
"""

from __future__ import annotations

RATING_MIN = 1
RATING_MAX = 5
RATINGS: tuple[int, ...] = tuple(range(RATING_MIN, RATING_MAX + 1))

# (level, lowest score, highest score), from low to critical.
LEVELS: tuple[tuple[str, int, int], ...] = (
    ("low", 1, 4),
    ("medium", 5, 9),
    ("high", 10, 16),
    ("critical", 17, 25),
)
LEVEL_NAMES: tuple[str, ...] = tuple(name for name, _, _ in LEVELS)

# What is done about a risk.
TREATMENTS: tuple[str, ...] = ("accept", "mitigate", "transfer", "avoid")
STATUSES: tuple[str, ...] = ("open", "closed")
# The heat map and the level filter read either the inherent or the residual values.
VIEWS: tuple[str, ...] = ("inherent", "residual")


def score(likelihood: int, impact: int) -> int:
    return likelihood * impact


def level_of(value: int) -> str:
    for name, low, high in LEVELS:
        if low <= value <= high:
            return name
    raise ValueError(f"no level for score {value}")


def bounds(level: str) -> tuple[int, int]:
    """The lowest and highest score of ``level``."""
    for name, low, high in LEVELS:
        if name == level:
            return low, high
    raise ValueError(f"no level {level!r}")
