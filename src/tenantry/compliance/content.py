"""Framework content as it passes from the library (what can be adopted) to a tenant's
programme (the adopted copy): plain frozen values, no database rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

Origin = Literal["library", "msp", "own"]


@dataclass(frozen=True, slots=True)
class RequirementContent:
    # Stable id inside the framework (``GV.OC-01``); a group heading has assessable False.
    ref: str
    title: str
    description: str
    parent_ref: str | None
    assessable: bool


@dataclass(frozen=True, slots=True)
class FrameworkContent:
    key: str
    version: str
    title: str
    description: str
    origin: Origin
    # The written framework it comes from (origin "msp" or "own"); None for the library.
    source_id: uuid.UUID | None
    # In reading order: a group before the requirements in it.
    requirements: tuple[RequirementContent, ...]
