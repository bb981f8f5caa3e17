"""Once, when the env tables came (#19): each results row's command without the flags that
only repeat its env's entry in the file's ENV_SETTINGS, which the file now applies itself. The
command as it ran stays in the row (`args_as_run`, `ours_command_as_run`): it is what
benchmarks/same_behaviour.py runs on the base side, the shrunk command on the head side, so the
check shows that the table gives the run the explicit flags gave. tests/test_env_settings.py
checks that both commands make the same Config. Running it again changes nothing.

    python benchmarks/shrink_commands.py            # rewrites the rows it shrinks
    python benchmarks/shrink_commands.py --dry-run
"""
import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RESULTS, todays_flags, without_env_settings, write_json  # noqa: E402


def shrink(doc):
    """(field, as run, shrunk) for a run.py row ('args') or a compare.py pair ('ours_command');
    None for anything else or a command the table does not shorten."""
    if "args" in doc and "runs" in doc and doc.get("algo") not in (None, "random"):
        as_run = doc.get("args_as_run", doc["args"])
        shrunk = without_env_settings(doc["algo"], doc["env_id"], todays_flags(doc["algo"], as_run))
        return ("args", as_run, shrunk) if shrunk != todays_flags(doc["algo"], as_run) else None
    if "ours_command" in doc and "env_id" in doc:
        as_run = doc.get("ours_command_as_run", doc["ours_command"]).split()
        flags = todays_flags(doc["algo"], as_run[1:])
        shrunk = [as_run[0], *without_env_settings(doc["algo"], doc["env_id"], flags)]
        return ("ours_command", " ".join(as_run), " ".join(shrunk)) if shrunk[1:] != flags else None
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--dry-run", action="store_true", help="print, write nothing")
    args = parser.parse_args(argv)
    for path in sorted(glob.glob(os.path.join(RESULTS, "*.json"))):
        text = open(path).read()
        doc = json.loads(text)
        found = shrink(doc) if isinstance(doc, dict) else None
        if not found:
            continue
        key, as_run, shrunk = found
        print(f"{os.path.basename(path)}: {as_run if isinstance(as_run, str) else ' '.join(as_run)}"
              f"\n  -> {shrunk if isinstance(shrunk, str) else ' '.join(shrunk)}")
        if args.dry_run or doc[key] == shrunk:
            continue
        indent = next(i for i in (2, 1, 4, None) if json.dumps(doc, indent=i) == text.rstrip("\n"))
        doc[f"{key}_as_run"], doc[key] = as_run, shrunk
        write_json(path, doc, indent, text[len(text.rstrip("\n")):])


if __name__ == "__main__":
    main()
