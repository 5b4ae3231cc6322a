"""The routing config and gazetteer are checked at load: unknown keys, types, non-finite numbers,
encodings, sizes and links are errors naming file, key and what is expected (issue 18 reproducers)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import routing
from triage.exceptions import ConfigError
from triage.routing import load_config

GAS_RULE = '[[rule]]\nname = "gas"\npattern = "煤气味"\naction = "urgency"\nurgency = "urgent"\n'
GAZETTEER = "place,jurisdiction,department,office\n青石小区,南城街道,public_security,南城派出所\n"


def write(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "routing.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_a_rules_typo_is_an_error_not_a_config_without_rules(tmp_path):
    """``[[rules]]`` used to be ignored: every rule, emergencies included, silently dropped."""
    path = write(tmp_path, GAS_RULE.replace("[[rule]]", "[[rules]]"))
    with pytest.raises(
        ConfigError, match=r"routing.toml: unknown key 'rules' \(did you mean 'rule'\? allowed: routing, rule\)"
    ):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GAS_RULE.replace("pattern", "pattrn"),
            r"routing.toml:1: rule 'gas': unknown key 'pattrn' \(did you mean 'pattern'\?",
        ),
        (
            "[routing]\nreview_treshold = 0.5\n",
            r"\[routing\]: unknown key 'review_treshold' \(did you mean 'review_threshold'\?",
        ),
        ("[routing]\nzzz = 1\n", r"\[routing\]: unknown key 'zzz' \(allowed: review_threshold, co_handling_margin"),
    ],
)
def test_unknown_keys_are_errors_with_a_suggestion(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('priority = "high"', "priority must be a whole number, got 'high'"),
        ("priority = 1.5", "priority must be a whole number, got 1.5"),
        ('boost = "0.3"', "boost must be a finite number, got '0.3'"),
        ("boost = nan", "boost must be a finite number, got nan"),
        ("boost = inf", "boost must be a finite number, got inf"),
        ("boost = true", "boost must be a finite number, got True"),
        ('review = "yes"', "review must be true or false, got 'yes'"),
        ("unless = 3", "unless must be a regex string, got 3"),
        ("department = []", "department must be a department code, got \\[\\]"),
    ],
)
def test_wrong_types_in_a_rule_name_file_line_rule_key_and_expectation(tmp_path, line, message):
    with pytest.raises(ConfigError, match=rf"routing.toml:1: rule 'gas': {message}"):
        load_config(write(tmp_path, GAS_RULE + line + "\n"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("review_threshold = nan", "review_threshold must be a number from 0 to 1, got nan"),
        ("review_threshold = 1.5", "review_threshold must be a number from 0 to 1, got 1.5"),
        ("co_handling_margin = -inf", "co_handling_margin must be a number from 0 to 1, got -inf"),
        ('min_chars = "6"', "min_chars must be a whole number, 0 or more, got '6'"),
        ("min_chars = -1", "min_chars must be a whole number, 0 or more, got -1"),
        ("gazetteer = 3", "gazetteer must be a CSV file name, relative to the config, got 3"),
        ('disable_builtin = "smoke"', "disable_builtin must be a list of built-in rule names, got 'smoke'"),
    ],
)
def test_wrong_settings_are_errors(tmp_path, line, message):
    with pytest.raises(ConfigError, match=rf"routing.toml: \[routing\]: {message}"):
        load_config(write(tmp_path, f"[routing]\n{line}\n"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("routing = 5\n", r"routing must be a table \(\[routing\]\), got 5"),
        ("rule = 5\n", r"rule must be a list of tables \(\[\[rule\]\]\), got 5"),
        ("rule = [1, 2]\n", r"rule must be a list of tables"),
    ],
)
def test_tables_of_the_wrong_shape_are_errors(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_a_gbk_or_gb18030_config_and_gazetteer_are_read(tmp_path, encoding, small_model):
    write(tmp_path, GAZETTEER, encoding=encoding, name="places.csv")
    config = load_config(write(tmp_path, '[routing]\ngazetteer = "places.csv"\n' + GAS_RULE, encoding=encoding))
    assert config.rules[0].pattern.search("有煤气味") and config.places[0].name == "青石小区"
    assert small_model.route("青石小区楼道里有煤气味", config=config).local_office == "南城派出所"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (GAS_RULE.encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
        (
            b"[routing]\nmin_chars = 6\n# \x80\xff\x80\xff\n",
            r"is neither UTF-8 nor GB18030/GBK text \(byte \d+\); save it as UTF-8",
        ),
    ],
)
def test_other_encodings_are_refused_naming_the_encoding(tmp_path, data, message):
    path = tmp_path / "routing.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=rf"routing.toml: the routing config {message}"):
        load_config(path)


def test_oversized_files_are_refused(tmp_path, monkeypatch):
    path = write(tmp_path, "# padding\n" * (routing.MAX_CONFIG_BYTES // 10 + 1))
    with pytest.raises(ConfigError, match=r"the routing config is larger than 1024 KiB"):
        load_config(path)
    monkeypatch.setattr(routing, "MAX_GAZETTEER_BYTES", 1024)
    write(tmp_path, GAZETTEER + "某村,南城街道,public_security,某所\n" * 100, name="places.csv")
    with pytest.raises(ConfigError, match=r"places.csv: the gazetteer is larger than 1 KiB"):
        load_config(write(tmp_path, '[routing]\ngazetteer = "places.csv"\n'))


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_symbolic_links_are_not_followed(tmp_path):
    real = write(tmp_path, GAS_RULE, name="real.toml")
    (tmp_path / "link.toml").symlink_to(real)
    with pytest.raises(ConfigError, match=r"link.toml: the routing config is a symbolic link; .* name the file itself"):
        load_config(tmp_path / "link.toml")
    write(tmp_path, GAZETTEER, name="real.csv")
    (tmp_path / "places.csv").symlink_to(tmp_path / "real.csv")
    with pytest.raises(ConfigError, match=r"places.csv: the gazetteer is a symbolic link"):
        load_config(write(tmp_path, '[routing]\ngazetteer = "places.csv"\n'))


def test_a_directory_is_not_a_config(tmp_path):
    (tmp_path / "routing.toml").mkdir()
    with pytest.raises(ConfigError, match=r"routing.toml: the routing config is not a regular file"):
        load_config(tmp_path / "routing.toml")


def _toml(value: object) -> str:
    """A TOML literal of a JSON-like value (hypothesis draws them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return json.dumps(value)


VALUES = st.recursive(
    st.none().map(lambda _: "") | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=4,
)


@settings(max_examples=150, deadline=None)
@given(
    key=st.sampled_from([*routing._RULE_KEYS, "other"]), value=VALUES, setting=st.sampled_from([*routing._ROUTING_KEYS])
)
def test_any_value_under_any_key_loads_or_is_a_config_error(key, value, setting):
    """Never a raw TypeError, ValueError or re2 error: a config loads or says what is wrong."""
    rule = {"name": "gas", "pattern": "煤气味", "action": "urgency", "urgency": "urgent", key: value}
    text = f"[routing]\n{setting} = {_toml(value)}\n[[rule]]\n" + "".join(
        f"{k} = {_toml(v)}\n" for k, v in rule.items()
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "routing.toml"
        path.write_text(text, encoding="utf-8")
        with contextlib.suppress(ConfigError):
            load_config(path)
