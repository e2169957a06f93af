"""Every numeric option is checked against the settings schema before anything loads: one line
that names the option, exit status 2."""

from __future__ import annotations

import pytest

from app.cli import main

BAD = [
    (["chat", "--ctx", "-5", "hi"], "--ctx must be 0 (the model's trained length) or between 512 and 131,072."),
    (["chat", "--ctx", "100", "hi"], "--ctx must be 0"),
    (["chat", "--max-tokens", "0", "hi"], "--max-tokens must be between 1 and 32,768."),
    (["chat", "--temperature", "-1", "hi"], "--temperature must be between 0 and 2."),
    (["chat", "--temperature", "nan", "hi"], "--temperature must be a number"),
    (["chat", "--seed", "x", "hi"], "--seed must be a whole number, not 'x'."),
    (["chat", "--threads", "1.5", "hi"], "--threads must be a whole number"),
    (["chat", "--threads", "9999", "hi"], "--threads must be between 0 and 256."),
    (["chat", "--lookup", "33", "hi"], "--lookup must be 0 (off) or between 1 and 32."),
    (["chat", "--gpu-layers", "-3", "hi"], "--gpu-layers must be 'auto' or a whole number"),
    (["search", "x", "--k", "0"], "--k must be between 1 and 100."),
    (["ask", "x", "--k", "50"], "--k must be between 1 and 20."),
    (["ask", "x", "--max-tokens", "100000"], "--max-tokens must be between 1 and 32,768."),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_out_of_range_options_are_refused_in_one_line(capsys, args, message):
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"hearth: {message}")
    assert len(err.strip().splitlines()) == 1 and not out


def test_good_values_pass_as_numbers():
    from app.cli import build_parser
    from app.cli_options import check_options

    args = build_parser().parse_args(["chat", "--ctx", "0", "--temperature", "0.25", "hi"])
    check_options(args)
    assert args.ctx == 0 and args.temperature == 0.25 and args.max_tokens == 512
    assert args.gpu_layers == "auto"


@pytest.mark.parametrize("args", [["chat", ""], ["chat", "  \n "]])
def test_an_empty_message_is_refused_before_a_model_loads(capsys, args):
    assert main(args) == 2
    _out, err = capsys.readouterr()
    assert err == (
        "hearth: The message is empty: there is nothing to answer. Give the message as an "
        "argument, or '-' to read it from stdin.\n"
    )


@pytest.mark.parametrize("args", [["library", "list"], ["chat", "hi"], ["search", "x"]])
def test_a_data_folder_that_cannot_be_made_is_one_line(capsys, monkeypatch, tmp_path, args):
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")
    monkeypatch.setenv("HEARTH_HOME", str(in_the_way))
    assert main(args) == 2
    _out, err = capsys.readouterr()
    assert err == (
        f"hearth: Hearth cannot keep its data in {in_the_way}/config: Not a directory. Set "
        "HEARTH_HOME to a folder you can write to, or free space on that disk.\n"
    )


def test_each_command_is_built_from_the_module_that_owns_it():
    import argparse

    from app.cli import COMMAND_MODULES, build_parser

    def commands(parser: argparse.ArgumentParser) -> set[str]:
        (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return set(sub.choices)

    everything = commands(build_parser())
    assert everything == {c for owned in COMMAND_MODULES.values() for c in owned}
    for owned in COMMAND_MODULES.values():
        for command in owned:
            assert commands(build_parser(command)) == set(owned)
    assert commands(build_parser("not-a-command")) == everything


def test_a_file_that_does_not_exist_is_said_not_taken_for_a_command(tmp_path, capsys):
    mistyped = tmp_path / "notse.pdf"
    assert main([str(mistyped)]) == 2
    said = capsys.readouterr().err
    assert f"no such file: {mistyped}" in said
    assert "invalid choice" not in said
    assert main(["notes.pdf"]) == 2, "a bare name with an extension is a file too"
    assert main(["serach"]) == 2  # a word with neither is a mistyped command
    assert "'serach' is not a command. Did you mean 'search'?" in capsys.readouterr().err
    assert main(["xyzzy"]) == 2
    said = capsys.readouterr().err
    assert "'xyzzy' is not a command. hearth --help lists the commands" in said
