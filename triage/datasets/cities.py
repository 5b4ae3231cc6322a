"""Readers for two more cities' government message boards (jiamusi, dalian), labelled by handling unit.

triage never ships these messages; point the functions at a local copy (``../shared/data``,
see its ``CITIES.md``). Each message carries the unit that answered it, in the city's own words
(局, 办, 中心, 区 ...). :func:`load_board` adds what a department-level model needs:

* ``departments``: every department that may own the message by the unit that handled it
  (:meth:`triage.departments.DepartmentDirectory.unit_departments`: its own department first,
  then era differences such as medical insurance in 人社局 before 2018); empty where the unit is
  a general hub or letters office (``unassigned`` says why) or is not in the directory;
* ``local``: the unit is a district, county, township or street government or a development-zone
  committee (``street_community``): local practice, not only the text, sent the message there.

A county-level city's government (``瓦房店市人民政府`` on the Dalian board) is a local government
of the board's city, while the board city's own government office is a general hub: which is
which depends on the board, so :data:`BOARD_CITY` names each board's city.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

from triage._optional import import_optional
from triage.datasets import teddy2020c
from triage.departments import default_directory

__all__ = ["BOARDS", "BOARD_CITY", "LOCAL_OFFICE", "board_path", "handler_departments", "load_board"]

#: The boards read here and the city whose government each belongs to.
BOARD_CITY: dict[str, str] = {"jiamusi": "佳木斯", "dalian": "大连"}
BOARDS: tuple[str, ...] = tuple(BOARD_CITY)
#: The department of district, county, township and street governments.
LOCAL_OFFICE = "street_community"

_OTHER_CITY_GOVERNMENT = re.compile(r"^(?:[^市]{1,4}省)?(?P<city>[^市省]{2,4})市(?:人民政府|政府)?$")


def board_path(board: str, path: str | Path | None = None) -> Path | None:
    """The folder of ``board`` (``path`` if given, else beside ``teddy2020c``'s default folder)."""
    if board not in BOARD_CITY:
        raise ValueError(f"unknown board {board!r}; expected one of {', '.join(BOARDS)}")
    if path is not None:
        return Path(path)
    teddy = teddy2020c.default_path()
    candidate = teddy.parent / board if teddy is not None else None
    return candidate if candidate is not None and candidate.is_dir() else None


def handler_departments(handler: str, board: str) -> tuple[tuple[str, ...], str | None]:
    """The departments that may own a message ``handler`` answered on ``board``, and why none if none.

    Examples
    --------
    >>> handler_departments("瓦房店市人民政府", "dalian")
    (('street_community',), None)
    >>> handler_departments("大连市公共行政服务中心", "dalian")[0]
    ()
    """
    if board not in BOARD_CITY:
        raise ValueError(f"unknown board {board!r}; expected one of {', '.join(BOARDS)}")
    directory = default_directory()
    name = unicodedata.normalize("NFKC", str(handler)).strip()
    other_city = _OTHER_CITY_GOVERNMENT.match(name)
    if other_city and other_city["city"] != BOARD_CITY[board]:
        return (LOCAL_OFFICE,), None
    departments = directory.unit_departments(name)
    if departments:
        return departments, None
    return (), directory.unassigned_reason(name) or "unit not in the department directory"


def load_board(board: str, path: str | Path | None = None) -> Any:
    """One board's messages as a pandas DataFrame, sorted by date.

    Adds ``text`` (title + body), ``departments`` (tuple), ``department`` (the handling unit's own
    department, None where ``departments`` is empty), ``unassigned`` (why no department) and
    ``local`` (handled by a local government).
    """
    pandas = import_optional("pandas", extra="io", purpose="reading the message boards")
    folder = board_path(board, path)
    if folder is None or not (folder / "messages.csv").is_file():
        raise FileNotFoundError(f"messages.csv of {board} not found in {folder}; pass the folder holding it")
    frame = pandas.read_csv(folder / "messages.csv", dtype=str, keep_default_na=False)
    # the day only: some jiamusi dates carry a cut-off hour ("2014-1-2 1")
    frame["date"] = pandas.to_datetime(frame["date"].str.split().str[0], format="%Y-%m-%d")
    frame = frame.sort_values("date", kind="stable").reset_index(drop=True)
    frame["text"] = frame["title"] + "\n" + frame["body"]
    mapped = [handler_departments(handler, board) for handler in frame["handler"]]
    frame["departments"] = [departments for departments, _ in mapped]
    frame["department"] = [departments[0] if departments else None for departments, _ in mapped]
    frame["unassigned"] = [reason for _, reason in mapped]
    frame["local"] = frame["department"] == LOCAL_OFFICE
    return frame
