"""Typed, validated settings: the one idiom every function follows.

Each capability declares the environment it needs as a ``BaseSettings`` model
(``shared/<capability>/settings.py``); every handler loads its settings at
import (cold start) with ``SomeSettings.load()``, so a misconfigured function
fails at init with the variable's name instead of on its first request, and
hands them to its capability's ``wiring`` factories. Nothing re-reads the
environment per request. Settings are frozen (hashable), so wiring caches one
service per distinct configuration.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError


class BaseSettings(BaseModel):
    """Settings read from environment variables; field names are the upper-cased variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        values = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        return cls.model_validate(values)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Validate the environment now; the ``ValidationError`` names every missing or invalid variable."""
        try:
            return cls.from_env(environ)
        except ValidationError as exc:
            variables = sorted({str(err["loc"][0]).upper() for err in exc.errors() if err["loc"]})
            exc.add_note(f"{cls.__name__}: check the function's environment variables {', '.join(variables)}")
            raise
