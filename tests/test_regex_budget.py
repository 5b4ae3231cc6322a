"""No regex in triage takes super-linear time: 100 kB adversarial strings, each under 50 ms.

Built-in patterns (module-level compiled patterns of every triage module, the masking rules
triage.pii compiles on first use, the patterns of cached functions without parameters that
compile them on first use, the shipped safety rules and department directory) are found
automatically, so a new one is covered without listing it. Each is probed with a few hundred
2 kB strings built from what it looks for; the three slowest are then timed at 100 kB (UTF-8
bytes). Deployment patterns run on RE2 (:mod:`triage.patterns`) and cannot backtrack; the issue's
reproducer is kept as a test.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import time
from collections.abc import Callable, Iterator

import pytest
import re2

import triage
from triage.departments import default_directory
from triage.exceptions import ConfigError
from triage.io.xlsx import _CellPatterns
from triage.pii import _Source
from triage.routing import RoutingConfig, builtin_rules, load_config

SIZE = 100_000  # bytes of UTF-8
PROBE_SIZE = 2_000
BUDGET_SECONDS = 0.050
# Characters that end or break most patterns, appended so a long run cannot end in a match.
BREAKERS = ("!", "@", "\n")


def _module_patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    """Every module-level compiled pattern (alone or in a tuple/list) of every triage module, in every package."""
    # every module of every package (a package split into modules keeps its patterns scanned)
    modules = [info.name.removeprefix("triage.") for info in pkgutil.walk_packages(triage.__path__, "triage.")]
    for module_name in modules:
        if module_name in {"__main__", "dask", "plots"}:
            continue  # runs the command line when imported; modules needing optional extras
        module = importlib.import_module(f"triage.{module_name}")
        for name, value in vars(module).items():
            if _compiles_patterns_on_first_use(value):
                name, value = f"{name}()", value()
            items = value if isinstance(value, tuple | list) and not isinstance(value, _Source) else (value,)
            for index, item in enumerate(items):
                if isinstance(item, _Source):  # a masking rule, compiled when a message first needs it
                    item = re.compile(item.pattern, item.flags)
                if (
                    isinstance(item, re.Pattern | re2._Regexp)
                    and getattr(module, "__name__", "") == f"triage.{module_name}"
                ):
                    suffix = f"[{index}]" if items is value else ""
                    yield f"triage.{module_name}.{name}{suffix}", item


def _compiles_patterns_on_first_use(value: object) -> bool:
    """A cached function without parameters that returns compiled patterns (so says its annotation)."""
    wrapped = getattr(value, "__wrapped__", None)
    if not hasattr(value, "cache_info") or wrapped is None or inspect.signature(wrapped).parameters:
        return False
    return "Pattern" in str(wrapped.__annotations__.get("return", ""))


def _shipped_data_patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    for rule in builtin_rules():
        yield f"safety.{rule.name}.pattern", rule.pattern
        if rule.unless is not None:
            yield f"safety.{rule.name}.unless", rule.unless
    yield "safety.still_in_progress", builtin_rules()[0].still
    for pattern, code in default_directory()._unit_matchers:
        yield f"departments.{code}", pattern
    for index, scope in enumerate(default_directory().unit_scopes):
        yield f"departments.unit_scope[{index}]", scope.pattern
    for index, unit in enumerate(default_directory().unassigned_units):
        yield f"departments.unassigned_unit[{index}]", unit.pattern


def _built_patterns() -> Iterator[tuple[str, re.Pattern[bytes]]]:
    """Patterns built for what a file holds: an XLSX sheet's cells, with and without a namespace prefix."""
    for prefix in (b"", b"x:"):
        patterns = _CellPatterns.of(prefix)
        for name in ("formula", "cell", "value"):
            yield f"triage.io.xlsx._CellPatterns.of({prefix!r}).{name}", getattr(patterns, name)


PATTERNS = dict([*_module_patterns(), *_shipped_data_patterns(), *_built_patterns()])


def adversarial(pattern: str, size: int = SIZE) -> list[str]:
    """Strings of ``size`` UTF-8 bytes built from what the pattern looks for: runs of its literal
    characters and of pairs of them, its literal fragments repeated, and digit, letter and
    separator runs, each followed by a character that may break a match at the very end."""
    literals = sorted({ch for ch in re.sub(r"\\[a-zA-Z]|\\u[0-9a-fA-F]{4}", "", pattern) if ch not in "()[]{}|?*+^$\\"})
    fragments = [f for f in re.findall(r"[\u4e00-\u9fff]{2,}", pattern)][:8]
    units = ["a", "1", " ", "-", ".", "a.", "1-", "1 ", "a@", "1a", "Xx", "火", "a1.", "(1"]
    units += literals[:16] + fragments
    units += [a + b for a, b in zip(literals[:8], literals[8:16], strict=False)]
    runs = [unit * -(-size // len(unit.encode("utf-8", "surrogatepass"))) for unit in units]
    return [run + breaker for run in runs for breaker in BREAKERS]


def _seconds(call: Callable[[], object]) -> float:
    """CPU time of ``call`` in this thread (the machine is shared): the best of three when over budget."""
    best = float("inf")
    for _ in range(3):
        start = time.thread_time()
        call()
        best = min(best, time.thread_time() - start)
        if best < BUDGET_SECONDS or best > 10 * BUDGET_SECONDS:  # clearly within or clearly over
            break
    return best


def test_the_builtin_patterns_are_found():
    names = set(PATTERNS)
    assert {"triage.pii._EMAIL", "triage.places._PLACE", "triage.replies._TRANSFER", "safety.gas-leak.pattern"} <= names
    assert {
        "triage.pii._trigger_scan()[0]",
        "triage.io.encodings._utf8_tells()[0]",
        "triage.io.encodings._utf8_tells()[1]",
        "triage.scoring.scorer._WHITE_SPACES",
        "triage.datasets.cities._OTHER_CITY_GOVERNMENT",  # a package nobody listed: every package is walked
        "triage.times._CHINESE_CLOCK",
    } <= names
    assert sum(name.startswith("departments.") for name in names) >= 10


def _scan(pattern: re.Pattern[str], text: str) -> float:
    start = time.thread_time()
    for _ in pattern.finditer(text):
        pass
    return time.thread_time() - start


def _adversarial_for(pattern: re.Pattern, size: int = SIZE) -> list:
    """:func:`adversarial` strings for ``pattern``, as UTF-8 bytes for a bytes pattern (one searching XML)."""
    if isinstance(pattern.pattern, bytes):
        return [text.encode("utf-8", "surrogatepass") for text in adversarial(pattern.pattern.decode(), size)]
    return adversarial(pattern.pattern, size)


@pytest.mark.parametrize("name", list(PATTERNS))
def test_builtin_pattern_is_linear_on_adversarial_text(name):
    pattern = PATTERNS[name]
    probes = _adversarial_for(pattern, PROBE_SIZE)
    worst = sorted(range(len(probes)), key=lambda i: -_scan(pattern, probes[i]))[:3]
    full = _adversarial_for(pattern)
    slow = {}
    for index in worst:
        seconds = _seconds(lambda text=full[index]: _scan(pattern, text))
        if seconds >= BUDGET_SECONDS and not _grows_linearly(pattern, full[index], seconds):
            slow[repr(full[index][:12]) + f"...{full[index][-1:]!r}"] = round(seconds, 3)
            break  # one is enough to fail
    assert not slow, f"{name} took >= 50 ms on 100 kB of: {slow}, and more than linearly longer than on 10 kB"


def _grows_linearly(pattern: re.Pattern[str], text: str, seconds: float) -> bool:
    """Whether a scan over the budget is only a slow linear one (a busy machine made a 40 ms scan take 55): a
    tenth of the text takes at least a twentieth of the time (quadratic: a hundredth), and the whole is under ten
    budgets."""
    tenth = text[: len(text) // 10] + text[-1:]  # the same run, cut, with the same breaker
    return seconds < 10 * BUDGET_SECONDS and seconds < 20 * _seconds(lambda: _scan(pattern, tenth))


@pytest.mark.parametrize("prefix", [b"", b"x:"])
def test_the_xlsx_formula_pattern_is_linear_on_white_space_after_a_formula(prefix):
    """XML may put any white space between a cell's elements: after a formula, two runs of it that could share
    it (``\\s*(value)?\\s*``) took quadratic time."""
    formula = _CellPatterns.of(prefix).formula
    text = b"<" + prefix + b"f/>" + b" " * SIZE + b"!"
    seconds = _seconds(lambda: _scan(formula, text))
    assert seconds < BUDGET_SECONDS or _grows_linearly(formula, text, seconds), seconds


def test_safety_rules_with_their_sentence_checks_are_linear():
    """All built-in rules as routing runs them (folding, matches, sentence checks): ten rules, each
    within the budget, on the three slowest of the probes at 100 kB."""
    config = RoutingConfig()
    every = "".join(rule.pattern.pattern + (rule.unless.pattern if rule.unless else "") for rule in builtin_rules())

    def run(text: str) -> float:
        start = time.thread_time()
        config.fired_rules(text)
        return time.thread_time() - start

    probes = adversarial(every, PROBE_SIZE)
    worst = sorted(range(len(probes)), key=lambda i: -run(probes[i]))[:3]
    full = adversarial(every)
    seconds = {repr(full[i][:12]): round(_seconds(lambda text=full[i]: run(text)), 3) for i in worst}
    assert max(seconds.values()) < 10 * BUDGET_SECONDS, seconds


def test_the_issue_reproducer_rule_runs_on_re2_in_linear_time(tmp_path, small_model):
    """``(a+)+$`` took 12 s on 26 characters with re; on RE2 100,000 take well under 50 ms."""
    path = tmp_path / "routing.toml"
    path.write_text('[[rule]]\nname = "evil"\npattern = "(a+)+$"\naction = "urgency"\nurgency = "urgent"\n')
    config = load_config(path)
    text = "a" * SIZE + "!"
    assert _seconds(lambda: config.rules[0].fires(text)) < BUDGET_SECONDS
    assert small_model.route("物业乱收费" + "a" * 40 + "!", config=config).rules_fired == ()
    assert small_model.route("物业乱收费aaa", config=config).rules_fired == ("evil",)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [(r"(物业)\\1", r"invalid escape sequence: \\1"), ("物业(?!费)", r"invalid perl operator: \(\?!")],
)
def test_a_pattern_re2_cannot_run_is_refused_with_what_to_do(tmp_path, pattern, reason):
    path = tmp_path / "routing.toml"
    path.write_text(f'[[rule]]\nname = "r"\npattern = "{pattern}"\naction = "urgency"\nurgency = "urgent"\n')
    with pytest.raises(
        ConfigError, match=rf"routing.toml:1: rule 'r': bad regex .*RE2.*{reason}.*without backreferences"
    ):
        load_config(path)


def test_a_deployment_directory_pattern_re2_cannot_run_is_refused(tmp_path):
    from triage.departments import load_directory

    path = tmp_path / "departments.toml"
    path.write_text(
        '[[department]]\ncode = "x"\nname = "某局"\nshort_name = "某"\nenglish_name = "X"\n'
        'unit_patterns = ["(局)\\\\1"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"departments.toml entry 1: unit_patterns: bad regex .*RE2"):
        load_directory(path)
    path.write_text(path.read_text(encoding="utf-8").replace("(局)\\\\1", "[\\\\u4e00-\\\\u9fa5]{1,3}局"))
    assert load_directory(path).match_unit("青石区某局") == "x"
