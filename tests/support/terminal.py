"""Start a program as a terminal would, so that Ctrl-C (SIGINT) reaches it.

A shell starts background jobs (`pytest ... &`, nohup, a CI runner's script) with SIGINT
ignored, and a child process inherits that disposition; Python then leaves it ignored, so a
Ctrl-C test run from such a shell would see the signal do nothing. The child gets SIGINT's
default action back before it starts, as it has when started from an interactive terminal.
"""
import signal
import subprocess


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def popen_like_a_terminal(args, **kwargs):
    """subprocess.Popen(args, **kwargs) with SIGINT at its default action in the child."""
    return subprocess.Popen(args, preexec_fn=_default_sigint, **kwargs)
