"""The check every test file makes of bad input: refused in one line, with exit status 2."""
import pytest


def refused(main, argv, capsys):
    """Runs main(argv) in this process: it must exit with status 2, print nothing on stdout and
    one line on stderr. Returns that line, for the caller to check what it says."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and out == "", \
        (exit_info.value.code, out, err)
    return lines[0]
