"""What the subcommands share: the help formatter, the numbers' flag checks, and the flags of
the run settings, made from their one declaration (:mod:`poselift.settings`)."""

from __future__ import annotations

import argparse
import dataclasses

from ..checks import LIMITS, Limit
from ..settings import default_of, nested, setting_of

# every numeric flag is checked as it is read (poselift.checks): a bad one fails before any work, naming it
COUNT = Limit(int, 0, 10**6)
THREADS = LIMITS["threads"]


class HelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to a flag's help where X says something: not None, False, empty, nor a
    default the help already gives. The settings' flags default to None (a flag given overrides the
    config file): theirs is the effective one, the setting's (``action.config_default``)."""

    def __init__(self, prog, **kw):
        kw.setdefault("max_help_position", 32)
        super().__init__(prog, **kw)

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or "(default" in text:
            return text
        value = getattr(action, "config_default", action.default)
        if value is None or value is False or value is argparse.SUPPRESS or (
                isinstance(value, (str, list, tuple)) and not value):
            return text
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        return f"{text} (default: {str(value).replace('%', '%%')})"


def setting_flags(cls, prefix: str = ""):
    """(dotted field name, dataclass field, its Setting) for each setting of ``cls`` that has a
    flag, nested configs' (``model.channels``) where their field stands, in declaration order."""
    for f in dataclasses.fields(cls):
        s = setting_of(f)
        inner = nested(f)
        if inner is not None:
            yield from setting_flags(inner, f"{prefix}{f.name}.")
        elif s is not None and s.flags:
            yield prefix + f.name, f, s


def flag_map(cls) -> dict[str, str]:
    """argparse dest -> dotted field name, for each setting of ``cls`` with a flag."""
    return {name.rpartition(".")[2]: name for name, _, _ in setting_flags(cls)}


def add_setting_flags(parser, cls, groups: dict | None = None, only: set[str] | None = None) -> None:
    """The flags of ``cls``'s settings on ``parser`` (in ``groups[s.group]`` where given; only the
    groups in ``only`` where given). Each defaults to None, so that a flag given overrides the
    config file; its help shows the setting's default. A bool setting's flag switches it away
    from its default (``--no-flip`` sets ``flip`` false)."""
    for name, f, s in setting_flags(cls):
        if only is not None and s.group not in only:
            continue
        target = groups[s.group] if groups is not None else parser
        dest = name.rpartition(".")[2]
        default = default_of(f)
        kw = dict(dest=dest, default=None, help=s.help)
        if isinstance(default, bool):
            kw.update(action="store_const", const=not default)
        else:
            if s.parse is not None:
                kw["type"] = s.parse
            elif dest in LIMITS:
                kw["type"] = LIMITS[dest].flag("/".join(s.flags))
            if s.choices:
                kw["choices"] = list(s.choices)
            if s.metavar or not s.choices:  # named as argparse would name it from the long flag
                long = next((f for f in s.flags if f.startswith("--")), s.flags[0])
                kw["metavar"] = s.metavar or long.lstrip("-").replace("-", "_").upper()
        action = target.add_argument(*s.flags, **kw)
        action.config_field = name
        if not isinstance(default, bool):  # a bool's flag says what it does; its default goes unsaid
            action.config_default = default  # for HelpFormatter: the effective default


def given_settings(a, cls) -> dict:
    """The settings of ``cls`` whose flags were given, as a (nested) dict of overrides."""
    out: dict = {}
    for name, _, _ in setting_flags(cls):
        value = getattr(a, name.rpartition(".")[2], None)
        if value is None:
            continue
        *outer, last = name.split(".")
        d = out
        for part in outer:
            d = d.setdefault(part, {})
        d[last] = value
    return out
