"""Is an algorithm file's behaviour unchanged since an older commit, seed for seed? If so, say
so in the results files, so that a refactor keeps the figures (CONVENTIONS.md §5).

Every results row in benchmarks/results/*.json names the file and flags it ran and the file's
hash: run.py's rows (`algo`, `env_id`, `args`, `algo_sha256`), compare.py's pairs (our side:
`ours_command`, `env_id`, `algo_sha256`) and speed_floor.json's pairs (`ours_command`,
`ours_sha256`). Each row becomes a case: its file and flags at a short budget (BUDGETS: several
updates and episodes, past DQN's and DDPG's random warm-up) on the seeds in SEEDS. For each case
and seed the file as it is at --base (`git show BASE:FILE.py`) and as it is in the working tree
run one after the other, each copied to a temporary folder, each with its own flag names
(RENAMES, applied only where the base's --help has the old flag and the head's has not). The two
runs agree when their progress.csv (all but wall_time_s), updates.csv (all but time columns) and
final evaluation (eval_return_mean, eval_return_std, and global_step where both print it) agree.

a3c with more than one worker is Hogwild: not the same run twice. Its cases run with
--num-workers 1 and the other flags as the row's, and vouch for the row with that said in the
record (--selftest shows that one worker is deterministic: it runs the base twice first).

Only when every case of an algorithm is identical does it add, to each row those cases checked, an
entry to the row's `behaviour_checks` list: base commit and the file hash there, the head commit and
the new hash, budget, seeds, number of cases, date, machine. No figure changes. run.py's tables then
show a row as current when the file has the hash it ran at or one its checks lead to. A file is one
algorithm but dqn_ddpg.py, whose DQN and DDPG rows are checked apart (BUDGETS' keys): a change to
DQN's acting alone leaves the DDPG runs identical, which then keep their rows. Where a case differs
nothing is written for its algorithm, and the first differing row is printed. Rows that were already
stale at the base are not checked (they need a re-run); files whose hash is the same at base and
head are skipped.

The study files (STUDIES) are no rows: each is handled as its entry says.

    python benchmarks/same_behaviour.py --base 7009583                # every changed file
    python benchmarks/same_behaviour.py --base 7009583 --files ppo gae
    python benchmarks/same_behaviour.py --base 7009583 --dry-run      # list the cases only
    python benchmarks/same_behaviour.py --base 7009583 --budget-scale 2 --selftest
"""
import argparse
import csv
import glob
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (RENAMES, RESULTS, ROOT, file_sha256, git_commit, machine,  # noqa: E402
                    vouched_hashes, write_json)

# (random warm-up steps, steps after it) at --budget-scale 1; dqn_ddpg is "dqn" or "ddpg"
BUDGETS = {"reinforce": (0, 10_000), "actor_critic": (0, 10_000), "gae": (0, 10_000),
           "npg_trpo": (0, 20_000), "ppo": (0, 10_000), "a3c": (0, 5_000),
           "dqn": (1_000, 2_000),  # learning_starts 1000, then 8 rounds of 128 gradient steps
           "ddpg": (10_000, 1_000)}  # learning_starts 10000, then 1000 gradient steps
SEEDS = {"ddpg": (1,)}  # a DDPG run takes about 10 s; every other case is a few seconds
DEFAULT_SEEDS = (1, 2, 3)

# old flag words -> new ones, per file: rows store the flags they ran with (the base's names)
CSVS = ("progress.csv", "updates.csv")
FINAL_KEYS = ("eval_return_mean", "eval_return_std", "global_step")
RUN_TIMEOUT_S = 900
A3C_NOTE = "run with --num-workers 1 (more workers are Hogwild: not the same run twice)"
A3C_DEFAULT_WORKERS = 2  # a3c.py's Config.num_workers (tests/test_same_behaviour.py checks)

STUDIES = {  # results files that are no rows, and what this check does with them
    "reinforce_gradient_variance":
        "calls reinforce.py's functions in-process and records no file hash: not vouched; "
        "re-run benchmarks/reinforce_variance.py (about a minute) if reinforce.py's train, "
        "collect_episodes or policy_update changed",
    "gae_lambda_sweep": "a table of the gae_*_lam* rows: those rows are checked and marked",
    "gae_exact_bias_variance":
        "exact sums over small MDPs with gae.compute_gae, no training run: nothing to run seed "
        "for seed (tests/test_gae.py covers compute_gae)",
    "npg_trpo_trust_region": "counts from the npg_trpo_* rows' updates.csv: those rows are "
                             "checked and marked",
    "speed_floor_first_run": "the earlier speed_floor run RESULTS.md quotes; records no file hash",
    "vs_cleanrl": "ppo.py and dqn_ddpg.py beside CleanRL's own scripts, timed: their hashes "
                  "recorded but not checked here; re-run benchmarks/vs_cleanrl.py (about 20 "
                  "minutes, with a CleanRL checkout) if their training changed",
    "loop_split": "each file's training time split into rollout and update, timed: the files' "
                  "hashes recorded but not checked here; re-run benchmarks/loop_split.py (about "
                  "6 minutes, alone) where a file's speed may have changed",
    "a3c_process_costs": "a3c.py's worker start and exit, timed: its hash recorded but not "
                         "checked here; re-run benchmarks/a3c_process_costs.py (about 2 minutes, "
                         "alone) where a worker's start or exit may have changed",
    "dqn_loss_study": "dqn_ddpg.py at CleanRL's settings, its hash recorded but not checked here: "
                      "re-run benchmarks/dqn_loss_study.py (about 12 minutes) if DQN's training "
                      "changed",
}


@dataclass
class Row:
    """One results row: where it is, the dict that holds its hash, and what it ran."""
    label: str
    path: str
    record: dict
    sha_key: str
    algo: str
    flags: tuple  # --env-id first where the row names the env; no --total-timesteps, no --seed
    as_run: tuple = None  # the flags it ran with, where its command was shrunk since (#19)

    @property
    def checks(self):
        return self.record.get("behaviour_checks", [])


@dataclass
class Case:
    algo: str
    flags: tuple  # the base's flag names
    budget: int
    seeds: tuple
    rows: list = field(default_factory=list)
    as_run: tuple = None  # the rows' flags as they ran, where their command was shrunk since


# --- the rows and their cases -----------------------------------------------------------------

def split_equals(words):
    """['--gamma=0.9'] -> ['--gamma', '0.9']: one spelling of every flag."""
    out = []
    for w in words:
        out += w.split("=", 1) if w.startswith("--") and "=" in w else [w]
    return out


def without(words, flag):
    """The words less `flag` and its value."""
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w == flag:
            skip = True
        else:
            out.append(w)
    return out


def case_flags(words):
    return tuple(without(without(split_equals(words), "--total-timesteps"), "--seed"))


def load_results(results_dir):
    """{path: (document, indent, end)} of every results file: the indent and the end of file
    that write it back byte for byte (indent 'unknown' when none does: never written)."""
    docs = {}
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        text = open(path).read()
        doc = json.loads(text)
        indent = next((i for i in (2, 1, 4, None)
                       if json.dumps(doc, indent=i) == text.rstrip("\n")), "unknown")
        docs[path] = (doc, indent, text[len(text.rstrip("\n")):])
    return docs


def rows_of(path, doc):
    """The rows of one results file (none for a study file or the random-action floor)."""
    name = os.path.basename(path)[:-5]
    if not isinstance(doc, dict):
        return []
    as_run = lambda words: words and case_flags(["--env-id", doc["env_id"], *words])
    if "ours_command" in doc and doc.get("algo_sha256"):  # compare.py
        return [Row(name, path, doc, "algo_sha256", doc["algo"],
                    case_flags(["--env-id", doc["env_id"], *doc["ours_command"].split()[1:]]),
                    as_run(doc.get("ours_command_as_run", "").split()[1:]) or None)]
    if "runs" in doc and doc.get("algo_sha256") and "args" in doc:  # run.py
        return [Row(name, path, doc, "algo_sha256", doc["algo"],
                    case_flags(["--env-id", doc["env_id"], *doc["args"]]),
                    as_run(doc.get("args_as_run")) or None)]
    if isinstance(doc.get("pairs"), dict):  # speed_floor.py: the file's defaults, no --env-id
        return [Row(f"{name}: {pair}", path, r, "ours_sha256", r["ours_command"].split()[0][:-3],
                    case_flags(r["ours_command"].split()[1:]))
                for pair, r in doc["pairs"].items() if r.get("ours_sha256")]
    return []


def flag_value(flags, flag):
    return next((flags[i + 1] for i in range(len(flags) - 1) if flags[i] == flag), None)


@lru_cache(maxsize=None)
def box_actions(env_id):
    import gymnasium as gym
    env = gym.make(env_id)
    try:
        return isinstance(env.action_space, gym.spaces.Box)
    finally:
        env.close()


def budget_key(algo, flags):
    """BUDGETS' key: the file, or for dqn_ddpg the algorithm it runs ('dqn' or 'ddpg')."""
    if algo != "dqn_ddpg":
        return algo
    chosen = flag_value(flags, "--algo")
    if chosen in ("dqn", "ddpg"):
        return chosen
    env = flag_value(flags, "--env-id")
    return "ddpg" if env and box_actions(env) else "dqn"  # the file's default env is CartPole


def one_worker(row):
    """(flags, note): a3c's rows with more than one worker (given, or a3c.py's default) run with
    one (Hogwild with more is not the same run twice), and the record says so."""
    if row.algo != "a3c":
        return row.flags, ""
    workers = flag_value(row.flags, "--num-workers") or A3C_DEFAULT_WORKERS
    if int(workers) <= 1:
        return row.flags, ""
    return tuple(without(row.flags, "--num-workers")) + ("--num-workers", "1"), A3C_NOTE


def make_cases(rows, scale):
    """One case per distinct (file, flags) in the rows' order, with the rows it vouches for."""
    cases = {}
    for row in rows:
        flags = one_worker(row)[0]
        key = budget_key(row.algo, flags)
        warmup, steps = BUDGETS[key]
        case = cases.setdefault((row.algo, flags, row.as_run), Case(
            row.algo, flags, warmup + max(1, round(steps * scale)), SEEDS.get(key, DEFAULT_SEEDS),
            as_run=row.as_run))
        case.rows.append(row)
    return list(cases.values())


# --- the two sides ----------------------------------------------------------------------------

def git(*args, binary=False):
    proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=not binary)
    if proc.returncode != 0:
        err = proc.stderr if not binary else proc.stderr.decode(errors="replace")
        sys.exit(f"same_behaviour.py: git {' '.join(args)}: {err.strip()}")
    return proc.stdout


def sha256_of(data):
    return hashlib.sha256(data).hexdigest()[:16]  # as common.file_sha256


def flag_names(script):
    """The flags a file's --help lists: the option strings at the start of its option lines."""
    proc = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True,
                          cwd=os.path.dirname(script), timeout=RUN_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"{os.path.basename(script)} --help failed: "
                           f"{(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    options = re.findall(r"^  (-.*?)(?:  |$)", proc.stdout, re.M)  # '  --gamma GAMMA  help'
    return {w for line in options for w in re.findall(r"--[A-Za-z0-9][-A-Za-z0-9]*", line)}


def translate(algo, flags, base_flags, head_flags, side="head"):
    """The head's spelling of the base's flags: RENAMES[algo] where the base's --help has the
    old flag and the head's has not. Raises ValueError naming a flag the head lacks."""
    renames = {old: new for old, new in RENAMES.get(algo, {}).items()
               if old[0] in base_flags and old[0] not in head_flags}
    out, i = [], 0
    while i < len(flags):
        old = next((o for o in renames if tuple(flags[i:i + len(o)]) == o), None)
        out += renames[old] if old else [flags[i]]
        i += len(old) if old else 1
    missing = [w for w in out if w.startswith("--") and w not in head_flags]
    if missing:
        raise ValueError(f"the {side}'s {algo}.py has no {' '.join(missing)} (add it to RENAMES)")
    return tuple(out)


def both_spellings(algo, flags, base_flags, head_flags, as_run=None):
    """A row's flags as the base spells them and as the head does. A row that ran before a
    rename keeps the old names; where the base came after the rename too, both sides take
    RENAMES' new names. A row whose command was shrunk (as_run: the flags it ran with) runs them
    on the base side and the shrunk flags (today's names) on the head side: the head's
    ENV_SETTINGS must give what the flags gave. Raises ValueError naming a flag a side lacks."""
    base = translate(algo, as_run or flags, {old[0] for old in RENAMES.get(algo, {})},
                     base_flags, "base")
    return base, translate(algo, flags if as_run else base, set() if as_run else base_flags,
                           head_flags)


def run_side(script, flags, seed, budget, run_dir):
    """Runs one side; returns (final JSON, None) or (None, why it failed)."""
    cmd = [sys.executable, script, *flags, "--seed", str(seed), "--total-timesteps",
           str(budget), "--quiet", "--run-dir", run_dir]
    try:
        proc = subprocess.run(cmd, cwd=os.path.dirname(script), capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"no end within {RUN_TIMEOUT_S} s"
    if proc.returncode != 0:
        return None, f"exit {proc.returncode}: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1]), None
    except (IndexError, json.JSONDecodeError):
        return None, "no JSON last line"


# --- the comparison ---------------------------------------------------------------------------

def same_value(a, b):
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return False
    return x == y or (math.isnan(x) and math.isnan(y))


def is_timing(column):
    """wall_time_s and the like: never the same twice, so never compared."""
    return column.endswith("time_s")


def read_csv(path):
    """(columns, rows) of a CSV file, or None when there is none."""
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def table_difference(name, base, head):
    """None when two CSV tables ((columns, rows) or None) agree, all but the timing columns;
    else the first difference, in words."""
    if base is None or head is None:
        wrote = "base" if head is None else "head"
        return None if base is head else f"{name}: only the {wrote} wrote it"
    columns = [c for c in base[0] if not is_timing(c)]
    head_columns = [c for c in head[0] if not is_timing(c)]
    if set(columns) != set(head_columns):
        return (f"{name}: columns differ (base only {sorted(set(columns) - set(head_columns))}, "
                f"head only {sorted(set(head_columns) - set(columns))})")
    for i, (a, b) in enumerate(zip(base[1], head[1]), 1):
        diff = [f"{c} {a[c]} / {b[c]}" for c in columns if not same_value(a[c], b[c])]
        if diff:
            return f"{name} row {i} (base / head): " + ", ".join(diff)
    if len(base[1]) != len(head[1]):
        return (f"{name}: base has {len(base[1])} rows, head {len(head[1])} "
                f"(the first {min(len(base[1]), len(head[1]))} agree)")
    return None


def final_difference(base, head):
    """None when the final evaluations agree (global_step only where both print it)."""
    diff = [f"{k} {base.get(k)} / {head.get(k)}" for k in FINAL_KEYS
            if (k in base or k in head) and (k != "global_step" or (k in base and k in head))
            and not same_value(base.get(k), head.get(k))]
    return "final JSON (base / head): " + ", ".join(diff) if diff else None


def run_difference(base_dir, head_dir, base_final, head_final):
    """The first difference between two runs' outputs, or None."""
    for name in CSVS:
        diff = table_difference(name, read_csv(os.path.join(base_dir, name)),
                                read_csv(os.path.join(head_dir, name)))
        if diff:
            return diff
    return final_difference(base_final, head_final)


def compare_case(base_script, head_script, case, head_flags, seed, out):
    """Runs base then head on one case and seed, into out/base and out/head: (IDENTICAL,
    DIFFERENT or FAILED, the line to print)."""
    dirs = [os.path.join(out, side) for side in ("base", "head")]
    finals, times = [], []
    for script, flags, run_dir in ((base_script, case.flags, dirs[0]),
                                   (head_script, head_flags, dirs[1])):
        start = time.time()
        final, error = run_side(script, flags, seed, case.budget, run_dir)
        times.append(time.time() - start)
        if error:
            return "FAILED", f"FAILED: the {'base' if script == base_script else 'head'} {error}"
        finals.append(final)
    diff = run_difference(*dirs, *finals)
    shutil.rmtree(out, ignore_errors=True)
    took = f"[{times[0]:.1f} s + {times[1]:.1f} s]"
    if diff:
        return "DIFFERENT", f"DIFFERENT: {diff} {took}"
    return "IDENTICAL", f"IDENTICAL (eval {finals[0]['eval_return_mean']:.1f}) {took}"


# --- one file ---------------------------------------------------------------------------------

def rows_to_check(rows, base_sha, head_sha):
    """The rows current at the base and not yet at the head; says why of the others."""
    todo = []
    for row in rows:
        hashes = vouched_hashes(row.record[row.sha_key], row.checks)
        if head_sha in hashes:
            print(f"  {row.label}: already current at the head, skipped")
        elif base_sha not in hashes:
            print(f"  {row.label}: ran at {row.record[row.sha_key]}, already stale at the base: "
                  "not checked (re-run it)")
        else:
            todo.append(row)
    return todo


def write_sides(tmp, algo, base_src, head_src):
    """tmp/base/ALGO.py and tmp/head/ALGO.py: the two files that run."""
    scripts = []
    for side, src in (("base", base_src), ("head", head_src)):
        os.makedirs(os.path.join(tmp, side))
        scripts.append(os.path.join(tmp, side, f"{algo}.py"))
        with open(scripts[-1], "wb") as f:
            f.write(src)
    return scripts


def describe(case):
    return " ".join(case.flags) or "(the file's defaults)"


def print_cases(cases, head_flags):
    for i, (case, head) in enumerate(zip(cases, head_flags), 1):
        renamed = f" (head: {' '.join(head)})" if head != case.flags else ""
        notes = sorted({one_worker(r)[1] for r in case.rows} - {""})
        print(f"  case {i}: {describe(case)}{renamed}; {case.budget} steps, seeds "
              f"{', '.join(map(str, case.seeds))}; rows: {', '.join(r.label for r in case.rows)}"
              + "".join(f"; {n}" for n in notes))


def run_cases(scripts, cases, head_flags, tmp):
    """Each case seed by seed, base then head: its verdict, IDENTICAL, DIFFERENT or FAILED (a
    side did not run: its other seeds are skipped)."""
    verdicts = []
    for i, (case, head) in enumerate(zip(cases, head_flags), 1):
        verdict = "IDENTICAL"
        for seed in case.seeds:
            result, line = compare_case(*scripts, case, head, seed,
                                        os.path.join(tmp, f"case{i}_seed{seed}"))
            print(f"  case {i}, seed {seed}: {line}", flush=True)
            verdict = verdict if result == "IDENTICAL" else result
            if result == "FAILED":
                break
        verdicts.append(verdict)
    return verdicts


def to_record(cases, verdicts):
    """The cases whose rows get a check: those of each algorithm (BUDGETS' key) all of whose cases
    ran and were identical."""
    keys = [budget_key(c.algo, c.flags) for c in cases]
    changed = {k for k, v in zip(keys, verdicts) if v != "IDENTICAL"}
    return [c for c, k in zip(cases, keys) if k not in changed]


def outcome(cases, verdicts):
    """The file's line in the summary."""
    if all(v == "IDENTICAL" for v in verdicts):
        return f"identical in all {len(cases)} cases"
    parts = []
    for verdict, words in (("DIFFERENT", "DIFFERENT in"), ("FAILED", "could not run")):
        bad = [c for c, v in zip(cases, verdicts) if v == verdict]
        if bad:
            parts.append(f"{words} {len(bad)} of {len(cases)} cases (rows "
                         f"{', '.join(r.label for c in bad for r in c.rows)})")
    kept = [r.label for c in to_record(cases, verdicts) for r in c.rows]  # the other algorithm's
    return "; ".join(parts) + (f"; identical: rows {', '.join(kept)}" if kept else
                               ": nothing recorded")


def check_file(algo, rows, base_src, head_src, scale, dry_run, selftest):
    """Checks one file's rows: (its line in the summary, the cases to record: those of each
    algorithm whose every case ran and was identical)."""
    base_sha, head_sha = sha256_of(base_src), sha256_of(head_src)
    print(f"\n{algo}.py: base {base_sha}, head {head_sha}")
    if base_sha == head_sha:
        return "unchanged, skipped", []
    todo = rows_to_check(rows, base_sha, head_sha)
    if not todo:
        return "no row current at the base and not yet at the head: nothing to run", []
    cases = make_cases(todo, scale)
    with tempfile.TemporaryDirectory(prefix=f"same_behaviour_{algo}_") as tmp:
        scripts = write_sides(tmp, algo, base_src, head_src)
        try:
            base_flags, head_flags = flag_names(scripts[0]), flag_names(scripts[1])
            spelled = [both_spellings(algo, c.flags, base_flags, head_flags, c.as_run)
                       for c in cases]
            cases = [replace(c, flags=base) for c, (base, _) in zip(cases, spelled)]
            translated = [head for _, head in spelled]
        except (RuntimeError, ValueError) as e:
            return f"cannot check: {e}", []
        print(f"  {len(cases)} cases for {len(todo)} rows, each seed base then head:")
        print_cases(cases, translated)
        if dry_run:
            return f"{len(cases)} cases (dry run)", []
        if selftest and not base_is_deterministic(scripts[0], cases[0], tmp):
            return "the base is not the same run twice: nothing recorded", []
        verdicts = run_cases(scripts, cases, translated, tmp)
    return outcome(cases, verdicts), to_record(cases, verdicts)


def base_is_deterministic(base_script, case, tmp):
    """--selftest: the base twice on one case and seed 1 must agree, or the check means nothing."""
    finals, dirs = [], []
    for i in range(2):
        dirs.append(os.path.join(tmp, f"selftest{i}"))
        final, error = run_side(base_script, case.flags, 1, case.budget, dirs[-1])
        if error:
            print(f"  selftest: the base {error}")
            return False
        finals.append(final)
    diff = run_difference(*dirs, *finals)
    print("  selftest, the base twice on case 1, seed 1: "
          + (f"NOT the same run twice: {diff}" if diff else "the same run"))
    return diff is None


# --- the records ------------------------------------------------------------------------------

def record(cases, base_commit, base_sha, head_sha, head_commit, date):
    """Adds a behaviour check to each row of the cases; returns the results files touched."""
    touched = set()
    for case in cases:
        for row in case.rows:
            entry = {"base": base_commit, "base_sha256": base_sha, "head": head_commit,
                     "sha256": head_sha, "budget": case.budget, "seeds": list(case.seeds),
                     "cases": len(cases), "date": date, "machine": machine()}
            if one_worker(row)[1]:
                entry["note"] = one_worker(row)[1]
            row.record.setdefault("behaviour_checks", []).append(entry)
            touched.add(row.path)
    return touched


def write(docs, paths):
    for path in sorted(paths):
        doc, indent, end = docs[path]
        if indent == "unknown":
            print(f"  {os.path.relpath(path, ROOT)}: not written: json.dump would reformat it")
            continue
        write_json(path, doc, indent, end)
        print(f"  recorded in {os.path.relpath(path, ROOT)}")


# --- main -------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--base", required=True, help="the commit the results came from")
    parser.add_argument("--files", nargs="+", metavar="FILE",
                        help="algorithm files to check (stems: ppo gae ...; default: every "
                             "file with a results row)")
    parser.add_argument("--budget-scale", type=float, default=1.0,
                        help="multiplies each case's steps after the warm-up (default 1)")
    parser.add_argument("--dry-run", action="store_true", help="list the cases, run nothing")
    parser.add_argument("--selftest", action="store_true",
                        help="first run each file's base twice on its first case: the same run?")
    args = parser.parse_args(argv)
    if args.budget_scale <= 0:
        parser.error("--budget-scale must be > 0")
    base = subprocess.run(["git", "rev-parse", "--short", "--verify", "-q",
                           f"{args.base}^{{commit}}"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
    if not base:
        parser.error(f"--base {args.base}: no such commit in {ROOT}")
    docs = load_results(RESULTS)
    rows = [row for path, (doc, *_) in docs.items() for row in rows_of(path, doc)]
    algos = list(dict.fromkeys(row.algo for row in rows))
    if args.files:
        unknown = [f for f in args.files if f.removesuffix(".py") not in algos]
        if unknown:
            parser.error(f"no results row runs {', '.join(unknown)} (rows run: {', '.join(algos)})")
        algos = [f.removesuffix(".py") for f in args.files]
    missing = [f"{a}.py" for a in algos if not os.path.isfile(os.path.join(ROOT, f"{a}.py"))]
    if missing:
        parser.error(f"results rows run {', '.join(missing)}, which the working tree lacks")
    start, head_commit = time.time(), git_commit()
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"same_behaviour: base {base}, head {head_commit}, {len(rows)} rows, "
          f"budget scale {args.budget_scale:g}" + (", dry run" if args.dry_run else ""))
    summary = []
    for algo in algos:
        file_start = time.time()
        head_src = open(os.path.join(ROOT, f"{algo}.py"), "rb").read()
        base_src = git("show", f"{base}:{algo}.py", binary=True)
        said, cases = check_file(algo, [r for r in rows if r.algo == algo], base_src,
                                 head_src, args.budget_scale, args.dry_run, args.selftest)
        head_sha = sha256_of(head_src)
        if cases and file_sha256(algo) != head_sha:
            said, cases = "changed during the check: nothing recorded (run it again)", []
        if cases:
            write(docs, record(cases, base, sha256_of(base_src), head_sha, head_commit, date))
            said += ", recorded"
        print(f"  {algo}.py: {said} ({time.time() - file_start:.0f} s)")
        summary.append(f"  {algo}: {said}")
    print("\nstudy files:")
    for name, what in STUDIES.items():
        if os.path.join(RESULTS, f"{name}.json") in docs:
            print(f"  {name}: {what}")
    print(f"\nsummary, base {base} against head {head_commit} ({time.time() - start:.0f} s):")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
