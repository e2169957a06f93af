"""Errors said to a person: in one line, a HearthError in its own words, anything else as a fault."""

from __future__ import annotations

from engine.errors import HearthError, as_sentence, describe


def test_a_hearth_error_is_said_in_its_own_words_and_hint_on_one_line():
    error = HearthError("The disk is full.\nNothing was written.", "Free some space.")
    assert (
        describe(error, "Saving failed")
        == "The disk is full. Nothing was written. Free some space."
    )


def test_any_other_exception_is_a_fault_named_with_its_type_and_the_log():
    said = describe(ValueError("bad value\n  at line 3"), "The page could not be shown")
    assert said == (
        "The page could not be shown (ValueError: bad value at line 3). Details are in the log file."
    )
    assert describe(KeyError()) == "Something went wrong (KeyError). Details are in the log file."


def test_a_message_without_a_full_stop_still_ends_before_its_hint():
    error = HearthError("gemma.gguf already exists with an unexpected sha256", "Free some space.")
    assert str(error) == "gemma.gguf already exists with an unexpected sha256. Free some space."
    assert str(HearthError("Cannot read (locked)", "")) == "Cannot read (locked)"
    for ended in ("Done.", "Why?", 'He said "stop."', "Choose one:", "(see the log.)"):
        assert as_sentence(ended) == ended
    assert as_sentence("no stop ") == "no stop." and as_sentence("") == ""
