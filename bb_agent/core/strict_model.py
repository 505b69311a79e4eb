"""The base of every config and state model: unknown keys are errors, instances are frozen.

Also turns a pydantic ``ValidationError`` into one readable line naming each offending key.
"""

from __future__ import annotations

import functools

from pydantic import BaseModel, ConfigDict, ValidationError


class StrictModel(BaseModel):
    """Frozen pydantic model that forbids unknown keys."""

    model_config = ConfigDict(extra='forbid', frozen=True)

    def model_copy(self, *, update=None, deep=False):
        """Copy without cached derived values (hashes, indexes), which may be stale."""
        copy = super().model_copy(update=update, deep=deep)
        for name in dir(type(self)):
            if isinstance(getattr(type(self), name, None), functools.cached_property):
                copy.__dict__.pop(name, None)
        return copy


def validation_message(exc: ValidationError) -> str:
    """Return ``key.path: problem; ...`` for every error in ``exc``."""
    return '; '.join(f'{".".join(str(p) for p in e["loc"]) or "(top)"}: {e["msg"]}'
                     for e in exc.errors())
