"""Each run setting declared once: a dataclass field made by :func:`setting` carries its
default and, in ``field.metadata["setting"]``, its command-line flag(s), help text, help group
and resume rule. The command line (``poselift train``'s flags, their help and defaults, the
overrides they make), config files and ``--resume`` all read this one declaration.

The resume rule (:data:`MUST_MATCH` or :data:`MAY_CHANGE`): a setting **must match** on
``--resume`` when the rest of the run depends on it - what is learnt and from what: the model,
the data (files, 2D source, cameras, subjects), the augmentation, the losses, the schedule and
budget, the seed, the weight average, the weights fine-tuning started from. A setting **may
change** when it only says where the run computes, how fast, in which number format or
where and how often its progress is written (device, threads, engine, precision, checkpoint
folder, checkpoint interval): the resumed run still follows the same recipe.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

MUST_MATCH = "must match"
MAY_CHANGE = "may change"


@dataclass(frozen=True)
class Setting:
    """How one setting appears outside its dataclass."""

    flags: tuple[str, ...]  # its command-line spellings, () = none (config files and the API only)
    help: str
    group: str  # the section of ``--help`` it is listed in
    resume: str  # MUST_MATCH or MAY_CHANGE
    choices: tuple | None = None
    metavar: str | None = None
    parse: object = None  # argparse ``type=`` for a flag whose value is not a number of LIMITS


def setting(default=dataclasses.MISSING, *, flag, help: str, group: str, resume: str, factory=None,
            choices=None, metavar: str | None = None, parse=None):
    """A dataclass field with its :class:`Setting`. ``flag``: a flag, a tuple of its spellings
    (short ones first where there are), or None for no flag - required, so that each setting
    says it. A bool flag switches the setting away from its default (``--no-flip`` for a
    setting on by default). ``factory``: a default made per instance (lists, nested configs)."""
    if resume not in (MUST_MATCH, MAY_CHANGE):
        raise ValueError(f"resume must be {MUST_MATCH!r} or {MAY_CHANGE!r}, got {resume!r}")
    if not help.strip() or not group:
        raise ValueError("a setting needs help text and a group")
    flags = () if flag is None else (flag,) if isinstance(flag, str) else tuple(flag)
    meta = {"setting": Setting(flags, help, group, resume, tuple(choices) if choices else None, metavar, parse)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    if isinstance(default, (list, dict)):
        raise ValueError("give a list or dict default as factory=")
    return field(default=default, metadata=meta)


def setting_of(f: dataclasses.Field) -> Setting | None:
    return f.metadata.get("setting")


def default_of(f: dataclasses.Field):
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def nested(f: dataclasses.Field):
    """The dataclass of a field that holds a nested config (TrainConfig.model), else None."""
    value = default_of(f)
    return type(value) if dataclasses.is_dataclass(value) else None


def must_match(cls, prefix: str = "") -> list[str]:
    """The settings of dataclass ``cls`` marked :data:`MUST_MATCH`, nested configs' as
    ``model.channels``."""
    out = []
    for f in dataclasses.fields(cls):
        s = setting_of(f)
        if s is None or s.resume != MUST_MATCH:
            continue
        inner = nested(f)
        out += must_match(inner, f"{prefix}{f.name}.") if inner else [prefix + f.name]
    return out


def lookup(d: dict, dotted: str):
    """``d["model"]["channels"]`` for ``"model.channels"`` (None where a part is missing)."""
    for part in dotted.split("."):
        d = d.get(part) if isinstance(d, dict) else None
    return d
