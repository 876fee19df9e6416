"""Settings are declared once: each field of `Settings` is read from `SPACES_<FIELD NAME>` (or the
variables its metadata names), parsed by its type, and falls back to its declared default."""
from dataclasses import fields

import pytest

from chalicelib.config import Settings, env_names, get_settings, read_settings

# A value of each type that differs from every default, and what it parses to.
SAMPLES = {"int": ("7", 7), "bool": ("true", True), "str": ("x-set", "x-set")}
FIXED = {"max_topics", "max_title_length"}  # rules, never read from the environment


def test_unset_variables_leave_every_declared_default():
    read, declared = read_settings({}), Settings()
    assert {f.name: getattr(read, f.name) for f in fields(Settings)} == {
        f.name: getattr(declared, f.name) for f in fields(Settings)
    }


def test_every_setting_is_read_from_the_variable_named_after_it():
    conventional = [f for f in fields(Settings) if f.name not in FIXED | {"region"}]
    assert len(conventional) > 70
    for f in conventional:
        assert env_names(f) == ("SPACES_" + f.name.upper(),)
        raw, value = SAMPLES.get(f.type, ("a,b", ("A", "B") if f.name == "ticket_currencies" else ("a", "b")))
        assert getattr(read_settings({env_names(f)[0]: raw}), f.name) == value, f.name


def test_fixed_rules_ignore_the_environment():
    settings = read_settings({"SPACES_MAX_TOPICS": "9", "SPACES_MAX_TITLE_LENGTH": "9"})
    assert (settings.max_topics, settings.max_title_length) == (3, 140)


def test_region_prefers_aws_default_region_then_aws_region():
    assert read_settings({}).region == "us-east-1"
    assert read_settings({"AWS_REGION": "eu-west-1"}).region == "eu-west-1"
    assert read_settings({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "ap-south-1"}).region == "ap-south-1"


def test_an_empty_number_or_flag_means_unset_but_an_empty_string_is_kept():
    settings = read_settings({
        "SPACES_MAX_COHOSTS": "", "SPACES_TRACING_ENABLED": "", "SPACES_STAGE": "",
        "SPACES_LOCAL_DEMO_USERS": "", "SPACES_TICKET_CURRENCIES": "",
    })
    assert settings.max_cohosts == 2 and settings.tracing_enabled is False
    assert settings.stage == "" and settings.local_demo_users == () and settings.ticket_currencies == ()


@pytest.mark.parametrize("raw, expected", [("1", True), (" Yes ", True), ("ON", True), ("0", False), ("nope", False)])
def test_flags(raw, expected):
    assert read_settings({"SPACES_TRACING_ENABLED": raw}).tracing_enabled is expected


def test_lists_are_comma_separated_and_currencies_upper_case():
    settings = read_settings({"SPACES_TICKET_CURRENCIES": "usd, eur ,", "SPACES_LOCAL_DEMO_USERS": " alice,,Bob "})
    assert settings.ticket_currencies == ("USD", "EUR")
    assert settings.local_demo_users == ("alice", "Bob")


def test_a_number_that_is_not_one_is_refused():
    with pytest.raises(ValueError):
        read_settings({"SPACES_MAX_COHOSTS": "two"})


def test_get_settings_reads_the_process_environment_once(monkeypatch):
    monkeypatch.setenv("SPACES_MAX_COHOSTS", "5")
    get_settings.cache_clear()
    try:
        assert get_settings().max_cohosts == 5
        monkeypatch.setenv("SPACES_MAX_COHOSTS", "6")
        assert get_settings().max_cohosts == 5  # cached for the container's life
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
