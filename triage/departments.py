"""The department directory: stable codes, Chinese and English names, remits, sub-categories.

The directory ships as ``triage/data/departments.toml``; a deployment passes its own file
to :func:`load_directory` to extend or replace it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from triage.exceptions import ConfigError

__all__ = ["Department", "DepartmentDirectory", "SubCategory", "default_directory", "load_directory"]


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

    def __init__(self, departments: list[Department], *, source: str) -> None:
        self._by_code = {d.code: d for d in departments}
        self.source = source

    def __getitem__(self, code: str) -> Department:
        return self._by_code[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    def display_name(self, code: str) -> str:
        """Chinese short name of a department, or the code itself for labels outside the directory.

        Retrained models may use a deployment's own taxonomy; their labels are shown as they are.
        """
        department = self._by_code.get(code)
        return department.short_name if department else code


def _parse_department(entry: Mapping[str, object], where: str) -> Department:
    required = ("code", "name", "short_name", "english_name")
    missing = [key for key in required if not entry.get(key)]
    if missing:
        raise ConfigError(f"{where}: department entry lacks {', '.join(missing)}")
    subcategories = tuple(
        SubCategory(
            code=str(sub["code"]),
            name=str(sub["name"]),
            english_name=str(sub.get("english_name", "")),
            keywords=tuple(sub.get("keywords", ())),
        )
        for sub in entry.get("subcategory", ())  # type: ignore[union-attr]
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


def _directory_from_toml(data: Mapping[str, object], *, source: str) -> DepartmentDirectory:
    entries = data.get("department", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: no [[department]] entries")
    departments = [_parse_department(entry, f"{source} entry {i + 1}") for i, entry in enumerate(entries)]
    codes = [d.code for d in departments]
    duplicated = sorted({c for c in codes if codes.count(c) > 1})
    if duplicated:
        raise ConfigError(f"{source}: duplicate department codes: {', '.join(duplicated)}")
    return DepartmentDirectory(departments, source=source)


@cache
def default_directory() -> DepartmentDirectory:
    """The directory shipped with triage (parsed once)."""
    text = (resources.files("triage") / "data" / "departments.toml").read_text(encoding="utf-8")
    return _directory_from_toml(tomllib.loads(text), source="triage/data/departments.toml")
