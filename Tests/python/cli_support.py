"""Finding and running the cxrcaption CLI from the Python-side tests.

The binary comes from the environment variable CXRCAPTION_CLI (scripts/test sets it), else from
`swift build --show-bin-path` (a debug build of this checkout).
"""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_cli = None


def cli_path():
    """The cxrcaption-cli binary to test; raises RuntimeError with a hint when it is not built."""
    path = os.environ.get("CXRCAPTION_CLI")
    if not path:
        bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, capture_output=True,
                                 text=True, check=True).stdout.strip()
        path = os.path.join(bin_dir, "cxrcaption-cli")
    if not os.path.exists(path):
        raise RuntimeError("cxrcaption-cli not found at %s: build it (swift build --product cxrcaption-cli) "
                           "or set CXRCAPTION_CLI" % path)
    return path


def run_cli(*args, stderr=subprocess.PIPE, timeout=120):
    """Runs the CLI with `args` (converted to str); returns the CompletedProcess (text mode)."""
    global _cli
    _cli = _cli or cli_path()
    return subprocess.run([_cli, *map(str, args)], stdout=subprocess.PIPE, stderr=stderr, text=True,
                          timeout=timeout)


def run_cli_on_terminal(*args):
    """Runs the CLI with its standard error on a pseudo-terminal (so it draws its progress bar);
    returns (CompletedProcess, what the terminal showed as text)."""
    import pty
    controller, terminal = pty.openpty()
    try:
        done = run_cli(*args, stderr=terminal)
        os.close(terminal)
        terminal = None
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if terminal is not None:
            os.close(terminal)
        os.close(controller)
    return done, shown.decode()
