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
from triage.patterns import UserPattern, compile_user_pattern, first_character_lookahead

__all__ = [
    "Department",
    "DepartmentDirectory",
    "SubCategory",
    "UnassignedUnit",
    "UnitMention",
    "UnitScope",
    "default_directory",
    "find_units",
    "load_directory",
    "match_unit",
    "unit_departments",
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
class UnitScope:
    """Units (matched by ``pattern`` on the whole unit name) that may also own messages of ``also``.

    Real exports come from several eras of the organisation chart: before the 2018 reform medical
    insurance sat in 人社局, property titles in the housing bureau. A message such a unit handled may
    rightly go to any of these departments today.
    """

    pattern: UserPattern
    also: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class UnassignedUnit:
    """Units knowingly mapped to no department (service hubs, letters offices), and why."""

    pattern: UserPattern
    reason: str


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


class DepartmentDirectory(Mapping[str, Department]):
    """Departments by code, in file order."""

    def __init__(
        self,
        departments: list[Department],
        *,
        source: str,
        compile: PatternCompiler = compile_user_pattern,
        unit_scopes: tuple[UnitScope, ...] = (),
        unassigned_units: tuple[UnassignedUnit, ...] = (),
    ) -> None:
        self._by_code = {d.code: d for d in departments}
        self.source = source
        self._compile = compile
        self.unit_scopes = unit_scopes
        self.unassigned_units = unassigned_units

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
            # the shipped directory runs on re, where a lookahead keeps optional prefixes cheap
            shipped = self._compile is _compile_shipped
            alternatives += [
                f"{first_character_lookahead(pattern) if shipped else ''}(?:{pattern})"
                for pattern in department.unit_patterns
            ]
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
        if self.unassigned_reason(unit_name) is not None:
            return None
        mentions = self.find_units(unit_name)
        return mentions[-1].department if mentions else None

    def unassigned_reason(self, unit_name: str) -> str | None:
        """Why a unit is knowingly mapped to no department (a service hub, a letters office), else None."""
        name = unicodedata.normalize("NFKC", unit_name).strip()
        return next((u.reason for u in self.unassigned_units if u.pattern.search(name)), None)

    def unit_departments(self, unit_name: str) -> tuple[str, ...]:
        """Every department that may own a message this unit handled: its own first, then its scopes' (era
        differences, merged bureaus); empty for unknown and unassigned units.
        """
        own = self.match_unit(unit_name)
        if own is None:
            return ()
        name = unicodedata.normalize("NFKC", unit_name).strip()
        departments = [own]
        for scope in self.unit_scopes:
            if scope.pattern.search(name):
                departments += [code for code in scope.also if code not in departments]
        return tuple(departments)

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
    scopes = tuple(
        UnitScope(
            _unit_pattern(entry, f"{source} unit_scope {i + 1}", compile),
            tuple(entry.get("also", ())),
            str(entry["reason"]),
        )
        for i, entry in enumerate(_tables(data, "unit_scope", source, ("pattern", "also", "reason")))
    )
    unknown = sorted({code for scope in scopes for code in scope.also} - set(codes))
    if unknown:
        raise ConfigError(f"{source}: unit_scope names unknown departments: {', '.join(unknown)}")
    unassigned = tuple(
        UnassignedUnit(_unit_pattern(entry, f"{source} unassigned_unit {i + 1}", compile), str(entry["reason"]))
        for i, entry in enumerate(_tables(data, "unassigned_unit", source, ("pattern", "reason")))
    )
    return DepartmentDirectory(
        departments, source=source, compile=compile, unit_scopes=scopes, unassigned_units=unassigned
    )


def _tables(data: Mapping[str, object], key: str, source: str, required: tuple[str, ...]) -> list[dict]:
    """The ``[[key]]`` tables of a directory file, each checked to hold ``required``."""
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ConfigError(f"{source}: {key} must be a list of tables ([[{key}]])")
    for i, entry in enumerate(entries):
        missing = [name for name in required if not entry.get(name)]
        if missing:
            raise ConfigError(f"{source} {key} {i + 1}: lacks {', '.join(missing)}")
        if "also" in entry and not (
            isinstance(entry["also"], list) and all(isinstance(code, str) for code in entry["also"])
        ):
            raise ConfigError(f"{source} {key} {i + 1}: also must be a list of department codes")
    return entries


def _unit_pattern(entry: Mapping[str, object], where: str, compile: PatternCompiler) -> UserPattern:
    return compile(str(entry["pattern"]), f"{where}: pattern")


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


def unit_departments(unit_name: str) -> tuple[str, ...]:
    """Every department that may own a message the unit handled, by the shipped directory.

    Examples
    --------
    >>> unit_departments("佳木斯市人力资源和社会保障局")
    ('human_resources_social_security', 'healthcare_security')
    >>> unit_departments("大连市公共行政服务中心")
    ()
    """
    return default_directory().unit_departments(unit_name)
