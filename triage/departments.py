"""The department directory: stable codes, Chinese and English names, remits, sub-categories.

The directory ships as ``triage/data/departments.toml``; a deployment passes its own file
to :func:`load_directory` to extend or replace it. Its ``unit_patterns`` run on RE2
(:mod:`triage.patterns`): linear time, so a deployment's pattern cannot stall a batch. The
shipped file's patterns are ours, on Python's ``re`` (one needs a lookahead; ``re`` also walks
dense matches ten times faster), checked for linear time by ``tests/test_regex_budget.py``.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path

from triage.exceptions import ConfigError
from triage.patterns import UserPattern, compile_user_pattern

__all__ = [
    "Department",
    "DepartmentDirectory",
    "SubCategory",
    "UnitMention",
    "default_directory",
    "find_units",
    "load_directory",
    "match_unit",
]

#: Compiles one pattern (``where`` names it in errors): RE2 for deployments, ``re`` for the shipped file.
PatternCompiler = Callable[[str, str], UserPattern]


def _compile_shipped(pattern: str, where: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class UnitMention:
    """A handling unit named in free text, and the department it belongs to."""

    department: str
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SubCategory:
    """A second-level category inside a department (e.g. property fees)."""

    code: str
    name: str
    english_name: str = ""
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Department:
    """One department that can own a petition."""

    code: str
    name: str
    short_name: str
    english_name: str
    remit: str = ""
    not_remit: tuple[str, ...] = ()
    unit_aliases: tuple[str, ...] = ()
    unit_patterns: tuple[str, ...] = ()
    subcategories: tuple[SubCategory, ...] = field(default=())

    @property
    def label(self) -> str:
        """``code / 中文名`` — how departments are shown to people."""
        return f"{self.code} / {self.short_name}"


class DepartmentDirectory(Mapping[str, Department]):
    """Departments by code, in file order."""

    def __init__(
        self, departments: list[Department], *, source: str, compile: PatternCompiler = compile_user_pattern
    ) -> None:
        self._by_code = {d.code: d for d in departments}
        self.source = source
        self._compile = compile

    def __getitem__(self, code: str) -> Department:
        return self._by_code[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    @cached_property
    def _unit_matchers(self) -> list[tuple[UserPattern, str]]:
        """One regex per department: its aliases (longest first) and its patterns."""
        matchers = []
        for department in self._by_code.values():
            alternatives = [re.escape(a) for a in sorted(department.unit_aliases, key=len, reverse=True)]
            alternatives += [f"(?:{pattern})" for pattern in department.unit_patterns]
            if alternatives:
                where = f"{self.source}: department {department.code!r}: unit_aliases and unit_patterns"
                matchers.append((self._compile("|".join(alternatives), where), department.code))
        return matchers

    def find_units(self, text: str) -> list[UnitMention]:
        """Every unit named in ``text``, left to right; overlapping mentions keep the longest."""
        text = unicodedata.normalize("NFKC", text)
        found = [
            UnitMention(code, match.group(), match.start(), match.end())
            for pattern, code in self._unit_matchers
            for match in pattern.finditer(text)
            if match.group()
        ]
        found.sort(key=lambda m: (m.start, -(m.end - m.start)))
        kept: list[UnitMention] = []
        for mention in found:
            if kept and mention.start < kept[-1].end:
                if mention.end - mention.start > kept[-1].end - kept[-1].start:
                    kept[-1] = mention
                continue
            kept.append(mention)
        return kept

    def match_unit(self, unit_name: str) -> str | None:
        """The department of a handling unit's name, e.g. ``"A3区住房和城乡建设局"`` → ``"housing_construction"``.

        Place prefixes are ignored. In a compound name the last unit named decides
        (``"市公安局交警支队"``: the 交警支队), as the head of a Chinese unit name comes last.
        """
        mentions = self.find_units(unit_name)
        return mentions[-1].department if mentions else None

    def display_name(self, code: str) -> str:
        """Chinese short name of a department, or the code itself for labels outside the directory.

        Retrained models may use a deployment's own taxonomy; their labels are shown as they are.
        """
        department = self._by_code.get(code)
        return department.short_name if department else code


def _parse_department(entry: Mapping[str, object], where: str, compile: PatternCompiler) -> Department:
    required = ("code", "name", "short_name", "english_name")
    missing = [key for key in required if not entry.get(key)]
    if missing:
        raise ConfigError(f"{where}: department entry lacks {', '.join(missing)}")
    patterns = entry.get("unit_patterns", ())
    if not (isinstance(patterns, list | tuple) and all(isinstance(pattern, str) for pattern in patterns)):
        raise ConfigError(f"{where}: unit_patterns must be a list of regex strings")
    for pattern in patterns:
        compile(pattern, f"{where}: unit_patterns")
    entries = entry.get("subcategory", [])
    if not (
        isinstance(entries, list) and all(isinstance(s, dict) and s.get("code") and s.get("name") for s in entries)
    ):
        raise ConfigError(
            f"{where}: subcategory must be a list of tables ([[department.subcategory]]) with code and name"
        )
    subcategories = tuple(
        SubCategory(
            code=str(sub["code"]),
            name=str(sub["name"]),
            english_name=str(sub.get("english_name", "")),
            keywords=tuple(sub.get("keywords", ())),
        )
        for sub in entries
    )
    return Department(
        code=str(entry["code"]),
        name=str(entry["name"]),
        short_name=str(entry["short_name"]),
        english_name=str(entry["english_name"]),
        remit=str(entry.get("remit", "")),
        not_remit=tuple(entry.get("not_remit", ())),  # type: ignore[arg-type]
        unit_aliases=tuple(entry.get("unit_aliases", ())),  # type: ignore[arg-type]
        unit_patterns=tuple(entry.get("unit_patterns", ())),  # type: ignore[arg-type]
        subcategories=subcategories,
    )


def load_directory(path: str | Path | None = None) -> DepartmentDirectory:
    """Read a department directory from a TOML file (default: the one shipped with triage)."""
    if path is None:
        return default_directory()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"department file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return _directory_from_toml(data, source=str(path))


def _directory_from_toml(
    data: Mapping[str, object], *, source: str, compile: PatternCompiler = compile_user_pattern
) -> DepartmentDirectory:
    entries = data.get("department", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: no [[department]] entries")
    departments = [_parse_department(entry, f"{source} entry {i + 1}", compile) for i, entry in enumerate(entries)]
    codes = [d.code for d in departments]
    duplicated = sorted({c for c in codes if codes.count(c) > 1})
    if duplicated:
        raise ConfigError(f"{source}: duplicate department codes: {', '.join(duplicated)}")
    return DepartmentDirectory(departments, source=source, compile=compile)


@cache
def default_directory() -> DepartmentDirectory:
    """The directory shipped with triage (parsed once)."""
    text = (resources.files("triage") / "data" / "departments.toml").read_text(encoding="utf-8")
    return _directory_from_toml(tomllib.loads(text), source="triage/data/departments.toml", compile=_compile_shipped)


def find_units(text: str) -> list[UnitMention]:
    """Units named in ``text`` according to the shipped directory (see :meth:`DepartmentDirectory.find_units`)."""
    return default_directory().find_units(text)


def match_unit(unit_name: str) -> str | None:
    """The department code of a unit name, by the shipped directory.

    Examples
    --------
    >>> match_unit("A3区住房和城乡建设局")
    'housing_construction'
    >>> match_unit("市公安局交警支队")
    'public_security'
    >>> match_unit("我镇")
    'street_community'
    >>> match_unit("天气不错") is None
    True
    """
    return default_directory().match_unit(unit_name)
