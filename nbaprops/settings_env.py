"""Where settings come from: the variable names a settings class reads, typos, and sources.

Used at the CLI edge: `unknown_variables` finds NBAPROPS_* names (in the environment or in
`.env`) that no settings class reads and suggests the closest known one, and `sources` tells
`nbaprops config` whether each effective value came from the default, the environment or
`.env`, with secrets masked. Known names are derived from the settings classes' own fields,
so a field added to a class is known without touching this module.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings

# Words people write for a setting's own word. Spelling alone would send NBAPROPS_REPORT_TO to
# NBAPROPS_REPORT_SENDER (more letters in common), so these are swapped in before matching.
_SYNONYMS = {
    "TO": "RECIPIENTS",
    "RECIPIENT": "RECIPIENTS",
    "EMAIL": "RECIPIENTS",
    "FROM": "SENDER",
    "PASS": "PASSWORD",
    "PASSWD": "PASSWORD",
    "USERNAME": "USER",
    "SERVER": "HOST",
    "DB": "DATABASE",
}
_SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN")
_URL_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]+@")
MASK = "********"


def variables_of(model: type[BaseSettings]) -> dict[str, list[str]]:
    """Each field of `model` -> the environment variables that set it (upper case)."""
    prefix = str(model.model_config.get("env_prefix", "")).upper()
    out: dict[str, list[str]] = {}
    for name, info in model.model_fields.items():
        choices = getattr(info.validation_alias, "choices", None)
        names = [c.upper() for c in choices or [] if isinstance(c, str) and c.isupper()]
        out[name] = names or [f"{prefix}{name.upper()}"]
    return out


def dotenv_variables(path: Path) -> dict[str, str]:
    """The variables a `.env` file sets (empty when there is no file)."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {key: value or "" for key, value in dotenv_values(path).items()}


def closest(name: str, known: Iterable[str], prefix: str = "NBAPROPS_") -> str | None:
    """The known name `name` most likely meant, or None if nothing is close.

    Names are compared without their common prefix, which would make everything look alike.
    """
    words = name.upper().removeprefix(prefix).split("_")
    guess = "_".join(_SYNONYMS.get(word, word) for word in words)
    candidates = {k.upper().removeprefix(prefix): k for k in sorted(known)}
    if guess in candidates:
        return candidates[guess]
    found = difflib.get_close_matches(guess, list(candidates), n=1, cutoff=0.6)
    return candidates[found[0]] if found else None


def unknown_variables(
    names: Iterable[str],
    known: Iterable[str],
    prefix: str = "NBAPROPS_",
    allowed_prefixes: tuple[str, ...] = (),
) -> list[str]:
    """One warning per `prefix` name that is not a known variable, naming the closest one."""
    known_set = {k.upper() for k in known}
    warnings = []
    for name in sorted(set(names), key=str.upper):
        upper = name.upper()
        if not upper.startswith(prefix) or upper in known_set:
            continue
        if allowed_prefixes and upper.startswith(tuple(p.upper() for p in allowed_prefixes)):
            continue
        guess = closest(upper, known_set, prefix)
        hint = f"; did you mean {guess}?" if guess else " (it is ignored)"
        warnings.append(f"{name} is not a setting{hint}")
    return warnings


def is_secret(variable: str, value: Any) -> bool:
    """True for a value that must never be printed in full."""
    return isinstance(value, SecretStr) or any(w in variable.upper() for w in _SECRET_WORDS)


def masked(variable: str, value: Any) -> str:
    """`value` as text, with secrets and the passwords inside URLs replaced by a mask."""
    if value is None:
        return ""
    if is_secret(variable, value):
        return MASK
    return _URL_PASSWORD.sub(rf"\g<1>{MASK}@", str(value))


@dataclass(frozen=True)
class Source:
    """One setting as in effect: its variable, shown value and where it came from."""

    field: str
    variable: str
    value: str
    source: str  # 'default', 'environment' or '.env'


def sources(
    settings: BaseSettings, environ: Mapping[str, str], dotenv: Mapping[str, str]
) -> list[Source]:
    """Each field of `settings` with the variable that set it and whether env or .env did."""
    env = {k.upper() for k in environ}
    from_file = {k.upper() for k in dotenv}
    rows = []
    for field, variables in variables_of(type(settings)).items():
        value = getattr(settings, field)
        in_env = [v for v in variables if v in env]
        in_file = [v for v in variables if v in from_file]
        if in_env:
            variable, source = in_env[0], "environment"
        elif in_file:
            variable, source = in_file[0], ".env"
        else:
            variable, source = variables[0], "default"
        rows.append(Source(field, variable, masked(variable, value), source))
    return rows
