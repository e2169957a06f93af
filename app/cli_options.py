"""Numeric command-line options checked against the settings schema (engine/settings_schema.py).

Each option names its schema key, so `hearth chat --ctx -5` is refused before anything loads, in
one line that names the option and says what it accepts, exactly as a settings value or an API
field with the same key would be.
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.settings_schema import validate_field

_CHECKED = "checked_options"


def add_checked(parser: argparse.ArgumentParser, flag: str, key: str, **kwargs: Any) -> None:
    """Add `flag`, whose value is checked by the schema option `key` after parsing."""
    dest = flag.lstrip("-").replace("-", "_")
    kwargs.setdefault("metavar", "N")
    parser.add_argument(flag, dest=dest, **kwargs)
    checked = dict(parser.get_default(_CHECKED) or {})
    checked[dest] = (flag, key)
    parser.set_defaults(**{_CHECKED: checked})


def check_options(args: argparse.Namespace) -> None:
    """Replace each checked option's text by its checked value.

    Raises:
        SettingError: a value out of its range, naming the option.
    """
    for dest, (flag, key) in (getattr(args, _CHECKED, None) or {}).items():
        setattr(args, dest, validate_field(getattr(args, dest), key, flag))
