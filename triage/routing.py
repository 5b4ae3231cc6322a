"""Routing suggestions: the model's department plus safety rules, a deployment's rules, places and thresholds.

Built-in safety rules (``triage/data/safety-rules.toml``: gas leaks, fire, smoke, explosions,
people trapped, violence in progress, self-harm, collapse, flooding, electrocution) mark a
message ``emergency`` with or without a deployment config; self-harm wording also sends it to
review. A deployment describes its own practice in a TOML file, without retraining::

    [routing]
    review_threshold = 0.6        # optional: overrides the model's
    co_handling_margin = 0.15     # candidates this close to the top become co-handlers
    min_chars = 6                 # shorter texts go to review
    gazetteer = "places.csv"      # relative to this file
    disable_builtin = []          # built-in safety rules to switch off, by name

    [[rule]]
    name = "gas-to-emergency-office"
    pattern = "燃气泄漏|煤气味"
    action = "force"              # force | boost | co_handler | urgency
    department = "emergency_management"
    urgency = "emergency"         # optional on any rule
    priority = 100
    review = false                # true: always send to a person
    unless = "已经修好|演练"       # optional: no match in a sentence holding this

The file is checked at load: unknown keys and tables, wrong types, non-finite numbers, files
that are too large or symbolic links are errors naming file, key and what is expected. It is
read as UTF-8, or as GB18030 (which covers GBK) when it is not UTF-8. Deployment patterns run
on RE2 (:mod:`triage.patterns`): linear time, so no rule can stall a batch.

Precedence, documented and tested: the highest-priority ``force`` rule decides the department
(two at the same priority naming different departments conflict: the higher-probability one
wins and the message goes to review); otherwise ``boost`` rules add their ``boost`` to a
department's probability before ranking. ``co_handler`` rules and close model candidates add
co-handlers. Urgency is the most severe any fired rule sets (a deployment rule named first at
equal severity). The gazetteer (CSV columns ``place, jurisdiction, department, office``) maps
place names found in the text to the local office serving them; unknown places leave the
suggestion at department level.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.departments import DepartmentDirectory, default_directory
from triage.exceptions import ConfigError
from triage.patterns import UserPattern, compile_user_pattern, first_character_lookahead
from triage.results import Classification, ReviewReason, RoutingSuggestion, Urgency

if TYPE_CHECKING:
    from triage.model import TriageModel

__all__ = [
    "Place",
    "RoutingConfig",
    "Rule",
    "builtin_rules",
    "example_config_path",
    "fold_traditional",
    "load_config",
    "route",
    "suggest",
]

ACTIONS = ("force", "boost", "co_handler", "urgency")
GAZETTEER_COLUMNS = ("place", "jurisdiction", "department", "office")
#: Largest routing config and gazetteer read, in bytes: far above any real one, far below trouble.
MAX_CONFIG_BYTES = 1 << 20
MAX_GAZETTEER_BYTES = 32 << 20
_SEVERITY = {Urgency.NORMAL: 0, Urgency.URGENT: 1, Urgency.EMERGENCY: 2}
#: Characters ending a sentence in prepared (NFKC) text; a rule's ``unless`` looks within one.
_SENTENCE_ENDS = "。!?;\n"
#: How far around a match its sentence is looked at: bounds the work per match on endless text.
_SENTENCE_REACH = 80
_BUILTIN_SOURCE = "triage/data/safety-rules.toml"
#: What a ``boost`` rule adds to its department's probability when its entry does not say.
DEFAULT_BOOST = 0.3


@dataclass(frozen=True, slots=True)
class Rule:
    """A keyword/regex rule: built in (safety) or written by a deployment to encode its practice.

    The rule fires when ``pattern`` matches in a sentence that holds no match of ``unless``, or
    that holds one together with a match of ``still`` (an event going on again or still).
    """

    name: str
    pattern: UserPattern
    action: str
    department: str | None = None
    urgency: Urgency | None = None
    priority: int = 0
    boost: float = DEFAULT_BOOST
    review: bool = False
    unless: UserPattern | None = None
    still: UserPattern | None = None

    def fires(self, text: str) -> bool:
        """Whether the rule fires on ``text`` (prepared; folded to simplified for built-in rules)."""
        for match in self.pattern.finditer(text):
            if self.unless is None:
                return True
            sentence = _sentence_around(text, match.start(), match.end())
            if not self.unless.search(sentence) or (self.still is not None and self.still.search(sentence)):
                return True
        return False


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding ``text[start:end]``, cut at :data:`_SENTENCE_REACH` characters each side."""
    left = max(0, start - _SENTENCE_REACH)
    right = min(len(text), end + _SENTENCE_REACH)
    before, after = text[left:start], text[end:right]
    cut = max(before.rfind(mark) for mark in _SENTENCE_ENDS)
    ends = [i for i in (after.find(mark) for mark in _SENTENCE_ENDS) if i >= 0]
    return before[cut + 1 :] + text[start:end] + after[: min(ends, default=len(after))]


@dataclass(frozen=True, slots=True)
class Place:
    """A place name and the local office of one department that serves it."""

    name: str
    jurisdiction: str
    department: str
    office: str


@cache
def _traditional_table() -> dict[int, str]:
    text = (resources.files("triage") / "data" / "traditional.txt").read_text(encoding="utf-8")
    pairs = [pair for line in text.splitlines() if not line.startswith("#") for pair in line.split()]
    return {ord(pair[0]): pair[1] for pair in pairs}


def fold_traditional(text: str) -> str:
    """``text`` with the traditional characters the built-in safety rules need made simplified.

    >>> fold_traditional("家裡燃氣洩漏")
    '家里燃气泄漏'
    """
    return text.translate(_traditional_table())


@cache
def builtin_rules() -> tuple[Rule, ...]:
    """The built-in safety rules (``triage/data/safety-rules.toml``), parsed once."""
    data = tomllib.loads((resources.files("triage") / "data" / "safety-rules.toml").read_text(encoding="utf-8"))
    markers = data["markers"]
    still = re.compile(markers["still_in_progress"])
    not_negated = "".join(f"(?<!{re.escape(word)})" for word in markers["negators"])
    rules = []
    for entry in data["rule"]:
        unless = entry.get("unless", "").replace("{not_in_progress}", markers["not_in_progress"])
        rules.append(
            Rule(
                name=entry["name"],
                # the lookahead lets re skip at once the characters no match starts with (about 10x faster)
                pattern=re.compile(f"{first_character_lookahead(entry['pattern'])}{not_negated}(?:{entry['pattern']})"),
                action="urgency",
                urgency=Urgency.EMERGENCY,
                review=entry.get("review", False),
                unless=re.compile(unless) if unless else None,
                still=still,
            )
        )
    return tuple(rules)


@dataclass(frozen=True)
class RoutingConfig:
    """Rules, gazetteer and thresholds of one deployment (see the module docstring).

    ``safety_rules`` are the built-in ones the deployment kept (all of them by default).
    """

    rules: tuple[Rule, ...] = ()
    places: tuple[Place, ...] = ()
    review_threshold: float | None = None
    co_handling_margin: float = 0.15
    min_chars: int = 6
    source: str = "(defaults)"
    safety_rules: tuple[Rule, ...] = field(default_factory=builtin_rules)
    _place_pattern: UserPattern | None = field(default=None, repr=False, compare=False)

    def fired_rules(self, text: str) -> list[Rule]:
        """The rules firing on prepared ``text``: the deployment's by priority, then the safety rules."""
        folded = fold_traditional(text)
        return [r for r in self.rules if r.fires(text)] + [r for r in self.safety_rules if r.fires(folded)]

    def offices_for(self, text: str) -> tuple[list[str], dict[str, str]]:
        """Places named in ``text`` (longest first at each position) and department → office for the first."""
        if not self.places or self._place_pattern is None:
            return [], {}
        found = list(dict.fromkeys(m.group() for m in self._place_pattern.finditer(text)))
        if not found:
            return [], {}
        offices = {p.department: p.office for p in self.places if p.name == found[0]}
        return found, offices


def example_config_path() -> Path:
    """The example config of a liaison station (invented places), used in the README and tests."""
    return Path(str(resources.files("triage"))) / "data" / "examples" / "station-routing.toml"


# ---------------------------------------------------------------- reading and checking a config


def read_config_text(path: Path, what: str, limit: int) -> str:
    """The text of a config file: a regular file (not a link) of at most ``limit`` bytes, in UTF-8
    or GB18030 (which covers GBK); anything else is a :class:`ConfigError` saying what to do."""
    if path.is_symlink():
        raise ConfigError(
            f"{path}: the {what} is a symbolic link; triage does not follow links in configs, "
            f"name the file itself ({os.path.realpath(path)})"
        )
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the {what}: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ConfigError(f"{path}: the {what} is not a regular file")
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ConfigError(f"{path}: the {what} is larger than {limit >> 10} KiB; is this the right file?")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}: the {what} is UTF-16 text; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: the {what} is neither UTF-8 nor GB18030/GBK text (byte {error.start}); save it as UTF-8"
        ) from None


def _is(value: Any, kind: type) -> bool:
    """``value`` is of ``kind`` the way TOML means it: no bool for numbers, finite floats, lists of strings."""
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind is list:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, kind)


#: Keys of a ``[[rule]]`` table and of ``[routing]``: expected type and how to say it.
_RULE_KEYS: dict[str, tuple[type, str]] = {
    "name": (str, "a string"),
    "pattern": (str, "a regex string"),
    "action": (str, f"one of {', '.join(ACTIONS)}"),
    "department": (str, "a department code"),
    "urgency": (str, "normal, urgent or emergency"),
    "priority": (int, "a whole number"),
    "boost": (float, "a finite number"),
    "review": (bool, "true or false"),
    "unless": (str, "a regex string"),
}
_ROUTING_KEYS: dict[str, tuple[type, str]] = {
    "review_threshold": (float, "a number from 0 to 1"),
    "co_handling_margin": (float, "a number from 0 to 1"),
    "min_chars": (int, "a whole number, 0 or more"),
    "gazetteer": (str, "a CSV file name, relative to the config"),
    "disable_builtin": (list, "a list of built-in rule names"),
}
_TABLES = {"routing": "the [routing] table", "rule": "the [[rule]] tables"}


def _unknown(key: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {key!r} ({hint}allowed: {', '.join(allowed)})"


def _check_table(table: Mapping[str, Any], keys: Mapping[str, tuple[type, str]], where: str) -> list[str]:
    """Problems of one table: unknown keys and values of the wrong type, each named with ``where``."""
    problems = []
    for key, value in table.items():
        if key not in keys:
            problems.append(f"{where}: {_unknown(key, keys)}")
        elif not _is(value, keys[key][0]):
            problems.append(f"{where}: {key} must be {keys[key][1]}, got {value!r}")
    return problems


def _line_of(text: str, needle: str, occurrence: int) -> int:
    """1-based line of the ``occurrence``-th line starting with ``needle`` (for error messages)."""
    seen = 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(needle):
            if seen == occurrence:
                return number
            seen += 1
    return 0


def _parse_rule(
    entry: Mapping[str, Any], where: str, directory: DepartmentDirectory, problems: list[str]
) -> Rule | None:
    name, action, department = entry.get("name"), entry.get("action"), entry.get("department")
    count = len(problems)
    problems += _check_table(entry, _RULE_KEYS, f"{where}: rule {name!r}" if name else where)
    if len(problems) > count:
        return None
    if not name:
        problems.append(f"{where}: rule has no name")
    if action not in ACTIONS:
        problems.append(f"{where}: rule {name!r}: action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if department is not None and department not in directory:
        problems.append(f"{where}: rule {name!r}: unknown department code {department!r}")
    if action in ("force", "boost", "co_handler") and department is None:
        problems.append(f"{where}: rule {name!r}: action {action!r} needs a department")
    urgency = entry.get("urgency")
    if urgency is not None and urgency not in {u.value for u in Urgency}:
        problems.append(f"{where}: rule {name!r}: urgency must be normal, urgent or emergency, got {urgency!r}")
    if action == "urgency" and urgency is None:
        problems.append(f"{where}: rule {name!r}: action 'urgency' needs an urgency")
    patterns = {}
    for key in ("pattern", "unless"):
        if key == "pattern" and not entry.get(key):
            problems.append(f"{where}: rule {name!r}: empty pattern")
        elif entry.get(key):
            try:
                patterns[key] = compile_user_pattern(
                    entry[key], f"{where}: rule {name!r}" + (": unless" if key == "unless" else "")
                )
            except ConfigError as error:
                problems.append(str(error))
    if len(problems) > count:
        return None
    return Rule(
        name=str(name),
        pattern=patterns["pattern"],
        action=str(action),
        department=department,
        urgency=Urgency(urgency) if urgency else None,
        priority=entry.get("priority", 0),
        boost=float(entry.get("boost", DEFAULT_BOOST)),
        review=entry.get("review", False),
        unless=patterns.get("unless"),
    )


def _read_gazetteer(path: Path, directory: DepartmentDirectory, problems: list[str]) -> list[Place]:
    places: list[Place] = []
    try:
        text = read_config_text(path, "gazetteer", MAX_GAZETTEER_BYTES)
    except ConfigError as error:
        problems.append(str(error))
        return places
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in GAZETTEER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        problems.append(f"{path}:1: gazetteer header lacks {', '.join(missing)} (needs {', '.join(GAZETTEER_COLUMNS)})")
        return places
    for row in reader:
        line = reader.line_num
        empty = [c for c in GAZETTEER_COLUMNS if not (row.get(c) or "").strip()]
        if empty:
            problems.append(f"{path}:{line}: missing {', '.join(empty)}")
        elif row["department"].strip() not in directory:
            problems.append(f"{path}:{line}: unknown department code {row['department'].strip()!r}")
        else:
            places.append(Place(*(row[c].strip() for c in GAZETTEER_COLUMNS)))
    return places


def _kept_safety_rules(disabled: list[str], where: str, problems: list[str]) -> tuple[Rule, ...]:
    """The built-in safety rules not named in ``disable_builtin``; an unknown name is a problem."""
    known = [rule.name for rule in builtin_rules()]
    for name in disabled:
        if name not in known:
            problems.append(f"{where}: disable_builtin names no built-in rule {name!r} (they are: {', '.join(known)})")
    return tuple(rule for rule in builtin_rules() if rule.name not in disabled)


def load_config(path: str | Path, directory: DepartmentDirectory | None = None) -> RoutingConfig:
    """Read and validate a routing config; every problem is reported at once, with file, line and key."""
    directory = directory or default_directory()
    path = Path(path)
    text = read_config_text(path, "routing config", MAX_CONFIG_BYTES)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    problems = [f"{path}: {_unknown(key, _TABLES)}" for key in data if key not in _TABLES]
    settings, entries = data.get("routing", {}), data.get("rule", [])
    if not isinstance(settings, dict):
        problems.append(f"{path}: routing must be a table ([routing]), got {settings!r}")
        settings = {}
    if not (isinstance(entries, list) and all(isinstance(entry, dict) for entry in entries)):
        problems.append(f"{path}: rule must be a list of tables ([[rule]]), got {entries!r}")
        entries = []
    problems += _check_table(settings, _ROUTING_KEYS, f"{path}: [routing]")
    settings = {key: value for key, value in settings.items() if _is(value, _ROUTING_KEYS.get(key, (object,))[0])}
    rules = []
    for index, entry in enumerate(entries):
        rule = _parse_rule(entry, f"{path}:{_line_of(text, '[[rule]]', index)}", directory, problems)
        if rule:
            rules.append(rule)
    safety = _kept_safety_rules(settings.get("disable_builtin", []), f"{path}: [routing]", problems)
    names = [entry.get("name") for entry in entries] + [rule.name for rule in safety]
    for name in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
        builtin = name in {rule.name for rule in safety}
        hint = f" (a built-in safety rule's name: rename yours, or disable_builtin = [{name!r}])" if builtin else ""
        problems.append(f"{path}: duplicate rule name {name!r}{hint}")
    for key in ("review_threshold", "co_handling_margin"):
        if key in settings and not 0 <= settings[key] <= 1:
            problems.append(f"{path}: [routing]: {key} must be a number from 0 to 1, got {settings[key]}")
    if settings.get("min_chars", 0) < 0:
        problems.append(f"{path}: [routing]: min_chars must be a whole number, 0 or more, got {settings['min_chars']}")
    places: list[Place] = []
    if settings.get("gazetteer"):
        places = _read_gazetteer(path.parent / settings["gazetteer"], directory, problems)
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in the routing config:\n  " + "\n  ".join(problems))
    names_by_length = sorted({p.name for p in places}, key=len, reverse=True)
    place_pattern = "|".join(map(re.escape, names_by_length))
    return RoutingConfig(
        rules=tuple(sorted(rules, key=lambda r: -r.priority)),
        places=tuple(places),
        review_threshold=settings.get("review_threshold"),
        co_handling_margin=float(settings.get("co_handling_margin", 0.15)),
        min_chars=settings.get("min_chars", 6),
        source=str(path),
        safety_rules=safety,
        _place_pattern=compile_user_pattern(place_pattern, f"{path}: gazetteer") if place_pattern else None,
    )


# ---------------------------------------------------------------- suggesting


def _subcategory(directory: DepartmentDirectory, department: str, text: str, result: Classification) -> str | None:
    """The model's sub-category when it has one for this department, else the sub-category whose
    keywords the text names most often (None when none is named)."""
    if result.department == department and result.sub_category is not None:
        return result.sub_category
    entry = directory.get(department)
    if entry is None:
        return None
    hits = [(sum(text.count(k) for k in sub.keywords), sub.code) for sub in entry.subcategories]
    best = max(hits, default=(0, None))
    return best[1] if best[0] else None


def _department(
    result: Classification, probabilities: Mapping[str, float], fired: list[Rule], reasons: list[ReviewReason]
) -> tuple[str | None, bool]:
    """The department after ``force`` and ``boost`` rules, and whether a rule forced it. Without a
    rule the model's department stands (a unit-level model's is its unit's, even where another
    department sums more probability); a boosted department replaces it when it scores higher."""
    forced = [rule for rule in fired if rule.action == "force"]
    if forced:
        top = [rule for rule in forced if rule.priority == forced[0].priority]
        if len({rule.department for rule in top}) > 1:
            reasons.append(ReviewReason.CONFLICTING_RULES)
        return max(top, key=lambda rule: probabilities.get(rule.department or "", 0.0)).department, True
    boosted, boosted_codes = dict(probabilities), set()
    for rule in fired:
        if rule.action == "boost" and rule.department:
            boosted[rule.department] = boosted.get(rule.department, 0.0) + rule.boost
            boosted_codes.add(rule.department)
    if not probabilities or not boosted_codes:
        return result.department, False
    contenders = [code for code in boosted if code == result.department or code in boosted_codes]
    return max(contenders, key=boosted.__getitem__), False


def _urgency(fired: list[Rule]) -> tuple[Urgency, str | None]:
    """The most severe urgency any fired rule sets (the first rule at equal severity), and that rule."""
    urgency, reason = Urgency.NORMAL, None
    for rule in fired:
        if rule.urgency and _SEVERITY[rule.urgency] > _SEVERITY[urgency]:
            urgency, reason = rule.urgency, f"rule {rule.name}"
    return urgency, reason


def _department_probabilities(result: Classification) -> dict[str, float]:
    """Department → probability, most probable first: a unit-level model's summed over its units."""
    return dict(result.department_candidates if result.unit is not None else result.candidates)


def suggest(
    classification: Classification,
    prepared_text: str,
    config: RoutingConfig,
    *,
    review_threshold: float,
    name_of: Callable[[str], str] | None = None,
    place: str = "",
) -> RoutingSuggestion:
    """The routing suggestion for one message, from its classification (with every candidate) and
    its prepared text: rules, co-handlers, urgency, review reasons and the local office.

    A pure step: nothing is scored or prepared again. ``review_threshold`` is the confidence below
    which the suggestion goes to review (the config's, else the model's); ``name_of`` names a
    department code (default: the shipped directory's short names); ``place`` names the location
    when the text does not. Rules name departments, so a unit-level model's classification is
    ranked by its ``department_candidates``; its unit stays when the rules keep its department.
    """
    result, text = classification, prepared_text
    name_of = name_of or default_directory().display_name
    fired = config.fired_rules(text)
    # Low confidence is re-judged below against the routing threshold; other reasons carry over.
    carried = result.reason is not None and result.reason is not ReviewReason.LOW_CONFIDENCE
    reasons: list[ReviewReason] = [result.reason] if result.reason is not None and carried else []
    probabilities = _department_probabilities(result)
    department, forced = _department(result, probabilities, fired, reasons)
    unit = result.unit if department is not None and department == result.department else None
    department_probability = probabilities.get(department, 0.0) if department else 0.0
    confidence = result.confidence if unit is not None else department_probability
    ranked = sorted(probabilities.items(), key=lambda pair: -pair[1])
    co_handlers: list[str | None] = [
        code for code, p in ranked[:3] if code != department and department_probability - p <= config.co_handling_margin
    ]
    co_handlers += [rule.department for rule in fired if rule.action == "co_handler" and rule.department != department]
    urgency, urgency_reason = _urgency(fired)
    if department and not forced and confidence < review_threshold:
        reasons.append(ReviewReason.LOW_CONFIDENCE)
    if department and len(ranked) > 1 and not forced and ranked[0][1] - ranked[1][1] < config.co_handling_margin / 3:
        reasons.append(ReviewReason.DEPARTMENTS_TOO_CLOSE)
    if len(text) < config.min_chars and ReviewReason.EMPTY_TEXT not in reasons:
        reasons.append(ReviewReason.TEXT_TOO_SHORT)
    review_rules = tuple(dict.fromkeys(rule.name for rule in fired if rule.review))
    if review_rules:
        reasons.append(ReviewReason.RULE_REQUESTED)
    places, offices = config.offices_for(text + " " + place)
    return RoutingSuggestion(
        department=department,
        department_name=name_of(department) if department else None,
        local_office=offices.get(department) if department else None,
        co_handlers=tuple(dict.fromkeys(code for code in co_handlers if code)),
        sub_category=_subcategory(default_directory(), department, text, result) if department else None,
        confidence=confidence,
        urgency=urgency,
        urgency_reason=urgency_reason,
        needs_review=bool(reasons),
        reasons=tuple(dict.fromkeys(reasons)),
        review_rules=review_rules,
        terms=result.explanation,
        rules_fired=tuple(rule.name for rule in fired),
        places=tuple(places),
        model_department=result.department,
        unit=unit,
    )


def route(
    model: TriageModel,
    texts: Iterable[str],
    config: RoutingConfig | None = None,
    *,
    metadata: Iterable[Mapping[str, Any] | None] | None = None,
) -> list[RoutingSuggestion]:
    """The same as ``model.route(list(texts), config=config, metadata=metadata)``, kept for callers
    of this first spelling: :meth:`~triage.model.TriageModel.route` prepares, classifies and calls
    :func:`suggest` once per text."""
    return model.route(list(texts), config=config, metadata=metadata)
