"""Routing suggestions: the model's department plus a deployment's rules, places and thresholds.

A deployment describes its practice in a TOML file, without retraining::

    [routing]
    review_threshold = 0.6        # optional: overrides the model's
    co_handling_margin = 0.15     # candidates this close to the top become co-handlers
    min_chars = 6                 # shorter texts go to review
    gazetteer = "places.csv"      # relative to this file

    [[rule]]
    name = "gas-leak"
    pattern = "燃气泄漏|煤气味"
    action = "force"              # force | boost | co_handler | urgency
    department = "emergency_management"
    urgency = "emergency"         # optional on any rule
    priority = 100
    review = false                # true: always send to a person

Precedence, documented and tested: the highest-priority ``force`` rule decides the department
(two at the same priority naming different departments conflict: the higher-probability one
wins and the message goes to review); otherwise ``boost`` rules add their ``boost`` to a
department's probability before ranking. ``co_handler`` rules and close model candidates add
co-handlers. Urgency is the most severe any fired rule sets. The gazetteer (CSV columns
``place, jurisdiction, department, office``) maps place names found in the text to the local
office serving them; unknown places leave the suggestion at department level.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.departments import DepartmentDirectory, default_directory
from triage.exceptions import ConfigError
from triage.results import Classification, ReviewReason, RoutingSuggestion, Urgency
from triage.text import prepare

if TYPE_CHECKING:
    from triage.model import TriageModel

__all__ = ["Place", "RoutingConfig", "Rule", "example_config_path", "load_config", "route"]

ACTIONS = ("force", "boost", "co_handler", "urgency")
GAZETTEER_COLUMNS = ("place", "jurisdiction", "department", "office")
_SEVERITY = {Urgency.NORMAL: 0, Urgency.URGENT: 1, Urgency.EMERGENCY: 2}


@dataclass(frozen=True, slots=True)
class Rule:
    """A keyword/regex rule a deployment writes to encode its practice."""

    name: str
    pattern: re.Pattern[str]
    action: str
    department: str | None = None
    urgency: Urgency | None = None
    priority: int = 0
    boost: float = 0.3
    review: bool = False


@dataclass(frozen=True, slots=True)
class Place:
    """A place name and the local office of one department that serves it."""

    name: str
    jurisdiction: str
    department: str
    office: str


@dataclass(frozen=True)
class RoutingConfig:
    """Rules, gazetteer and thresholds of one deployment (see the module docstring)."""

    rules: tuple[Rule, ...] = ()
    places: tuple[Place, ...] = ()
    review_threshold: float | None = None
    co_handling_margin: float = 0.15
    min_chars: int = 6
    source: str = "(defaults)"
    _place_pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

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
    try:
        pattern = re.compile(str(entry.get("pattern", "")))
        if not entry.get("pattern"):
            problems.append(f"{where}: rule {name!r}: empty pattern")
    except re.error as error:
        problems.append(f"{where}: rule {name!r}: bad regex {entry.get('pattern')!r}: {error}")
        pattern = None
    if len(problems) > count or pattern is None:
        return None
    return Rule(
        name=str(name),
        pattern=pattern,
        action=str(action),
        department=department,
        urgency=Urgency(urgency) if urgency else None,
        priority=int(entry.get("priority", 0)),
        boost=float(entry.get("boost", 0.3)),
        review=bool(entry.get("review", False)),
    )


def _read_gazetteer(path: Path, directory: DepartmentDirectory, problems: list[str]) -> list[Place]:
    places: list[Place] = []
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        problems.append(f"{path}: cannot read the gazetteer: {error.strerror}")
        return places
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in GAZETTEER_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            problems.append(
                f"{path}:1: gazetteer header lacks {', '.join(missing)} (needs {', '.join(GAZETTEER_COLUMNS)})"
            )
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


def load_config(path: str | Path, directory: DepartmentDirectory | None = None) -> RoutingConfig:
    """Read and validate a routing config; every problem is reported at once, with file and line."""
    directory = directory or default_directory()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"routing config not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    problems: list[str] = []
    rules = []
    for index, entry in enumerate(data.get("rule", [])):
        rule = _parse_rule(entry, f"{path}:{_line_of(text, '[[rule]]', index)}", directory, problems)
        if rule:
            rules.append(rule)
    names = [entry.get("name") for entry in data.get("rule", [])]
    for name in sorted({n for n in names if n and names.count(n) > 1}):
        problems.append(f"{path}: duplicate rule name {name!r}")
    settings = data.get("routing", {})
    places: list[Place] = []
    if settings.get("gazetteer"):
        places = _read_gazetteer(path.parent / settings["gazetteer"], directory, problems)
    threshold = settings.get("review_threshold")
    if threshold is not None and not 0 <= threshold <= 1:
        problems.append(f"{path}: review_threshold must be between 0 and 1, got {threshold}")
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in the routing config:\n  " + "\n  ".join(problems))
    names_by_length = sorted({p.name for p in places}, key=len, reverse=True)
    return RoutingConfig(
        rules=tuple(sorted(rules, key=lambda r: -r.priority)),
        places=tuple(places),
        review_threshold=threshold,
        co_handling_margin=float(settings.get("co_handling_margin", 0.15)),
        min_chars=int(settings.get("min_chars", 6)),
        source=str(path),
        _place_pattern=re.compile("|".join(map(re.escape, names_by_length))) if names_by_length else None,
    )


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


def route(
    model: TriageModel,
    texts: Iterable[str],
    config: RoutingConfig | None = None,
    *,
    metadata: Iterable[Mapping[str, Any] | None] | None = None,
) -> list[RoutingSuggestion]:
    """Routing suggestions for many texts: one vectorised model pass, then rules and places per text.

    ``metadata`` (one mapping per text, optional) may carry ``place`` to name the location
    when the text does not.
    """
    config = config or RoutingConfig()
    directory = default_directory()
    texts = list(texts)
    metas = list(metadata) if metadata is not None else [None] * len(texts)
    results = model.classify(texts, top_k=len(model.classes))
    threshold = config.review_threshold if config.review_threshold is not None else model.review_threshold
    return [
        _suggest(model, config, directory, text, meta or {}, result, threshold)
        for text, meta, result in zip(texts, metas, results, strict=True)
    ]


def _suggest(model, config, directory, text, meta, result, threshold) -> RoutingSuggestion:
    prepared = prepare(text).text
    fired = [rule for rule in config.rules if rule.pattern.search(prepared)]
    # Low confidence is re-judged below against the routing threshold; other reasons carry over.
    carried = result.reason is not None and result.reason is not ReviewReason.LOW_CONFIDENCE
    reasons: list[str] = [result.reason.value] if carried else []
    probabilities = dict(result.candidates)
    forced = [rule for rule in fired if rule.action == "force"]
    department = result.department
    if forced:
        top = [rule for rule in forced if rule.priority == forced[0].priority]
        if len({rule.department for rule in top}) > 1:
            reasons.append("conflicting_rules")
        department = max(top, key=lambda rule: probabilities.get(rule.department, 0.0)).department
    elif probabilities:
        boosted = dict(probabilities)
        for rule in fired:
            if rule.action == "boost":
                boosted[rule.department] = boosted.get(rule.department, 0.0) + rule.boost
        department = max(boosted, key=boosted.__getitem__)
    confidence = probabilities.get(department, 0.0) if department else 0.0
    ranked = sorted(probabilities.items(), key=lambda pair: -pair[1])
    co_handlers = [code for code, p in ranked[:3] if code != department and confidence - p <= config.co_handling_margin]
    co_handlers += [rule.department for rule in fired if rule.action == "co_handler" and rule.department != department]
    co_handlers = list(dict.fromkeys(co_handlers))
    urgency, urgency_reason = Urgency.NORMAL, None
    for rule in fired:
        if rule.urgency and _SEVERITY[rule.urgency] > _SEVERITY[urgency]:
            urgency, urgency_reason = rule.urgency, f"rule {rule.name}"
    if department and not forced and confidence < threshold:
        reasons.append("low_confidence")
    if department and len(ranked) > 1 and not forced and ranked[0][1] - ranked[1][1] < config.co_handling_margin / 3:
        reasons.append("departments_too_close")
    if len(prepared) < config.min_chars and "empty_text" not in reasons:
        reasons.append("text_too_short")
    reasons += [f"rule {rule.name} asks for review" for rule in fired if rule.review]
    places, offices = config.offices_for(prepared + " " + str(meta.get("place", "")))
    return RoutingSuggestion(
        department=department,
        department_name=model.department_name(department) if department else None,
        local_office=offices.get(department) if department else None,
        co_handlers=tuple(co_handlers),
        subcategory=_subcategory(directory, department, prepared, result) if department else None,
        confidence=confidence,
        urgency=urgency,
        urgency_reason=urgency_reason,
        needs_review=bool(reasons),
        review_reasons=tuple(dict.fromkeys(reasons)),
        terms=result.explanation,
        rules_fired=tuple(rule.name for rule in fired),
        places=tuple(places),
        model_department=result.department,
    )
