"""What every benchmark script shares: paths, the commit and machine a result ran on, the
algorithm file's hash and the behaviour checks that keep a result current, the flag renames,
and reading a run's progress.csv. It imports nothing from the other scripts."""
import csv
import hashlib
import importlib.util
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout


def git_commit():
    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    # results files are outputs: a redrawn plot does not make the code that runs differ
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                ":!benchmarks/results").strip()
    return commit + ("+dirty" if dirty else "")


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"


# Flags renamed since a result ran (#15: one name for one thing across files): old words ->
# today's. same_behaviour.py runs a row's base side with the old names and its head side with
# these; the comparison table shows a row's command as it is spelled today.
RENAMES = {
    "npg_trpo": {("--normalize-obs",): ("--norm-obs",),
                 ("--value-minibatch",): ("--value-minibatch-size",)},
    "ppo": {("--normalize", "on"): ("--norm-obs",), ("--normalize", "off"): ("--no-norm-obs",),
            ("--normalize", "auto"): ()},
    "a3c": {("--value-coef",): ("--vf-coef",)},
}


def todays_flags(algo, words):
    """words (a command's flags) with every renamed flag of algo spelled as today."""
    out, i = [], 0
    while i < len(words):
        old = next((o for o in RENAMES.get(algo, {}) if tuple(words[i:i + len(o)]) == o), None)
        out += RENAMES[algo][old] if old else [words[i]]
        i += len(old) if old else 1
    return out


def sb3_missing(algos):
    """The pip names of what the sb3 side of these algorithms (sb3's names: ppo, a2c, trpo, dqn,
    ddpg) needs and this interpreter lacks, checked before a run rather than pairs into it."""
    needs = {"sb3_contrib" if algo == "trpo" else "stable_baselines3" for algo in algos}
    return sorted(m.replace("_", "-") for m in needs if importlib.util.find_spec(m) is None)

def algorithm_module(algo):
    """The algorithm file as a module (its ENV_SETTINGS, parse_args, configure, Config)."""
    import importlib
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    return importlib.import_module(algo)


def without_env_settings(algo, env_id, words):
    """words (a command's flags, today's names) less each flag that only repeats env_id's entry
    in the file's ENV_SETTINGS, which the file applies itself; --total-timesteps always stays.
    ['--gamma', '0.9', '--seed', '3'] -> ['--seed', '3'] where the entry has gamma=0.9."""
    module = algorithm_module(algo)
    table, out, i = module.ENV_SETTINGS.get(env_id, {}), [], 0
    while i < len(words):
        n = 2 if i + 1 < len(words) and not words[i + 1].startswith("--") else 1  # flag [value]
        given = module.parse_args(words[i:i + n])
        if words[i] == "--total-timesteps" or any(k not in table or table[k] != v
                                                 for k, v in given.items()):
            out += words[i:i + n]
        i += n
    return out


def file_sha256(algo):
    """The algorithm file's content hash: pins the code a result came from, committed or not."""
    path = os.path.join(ROOT, f"{algo}.py")
    if not os.path.isfile(path):
        return None
    return hashlib.sha256(open(path, "rb").read()).hexdigest()[:16]


def vouched_hashes(recorded_sha, checks=()):
    """The file hashes a result stands for: the one it ran at, and each hash that a behaviour
    check (benchmarks/same_behaviour.py, its `behaviour_checks`) found to behave the same seed
    for seed as one already in the set, followed check by check from the recorded one."""
    hashes, grown = {recorded_sha}, True
    while grown:
        new = {c["sha256"] for c in checks if c["base_sha256"] in hashes} - hashes
        hashes, grown = hashes | new, bool(new)
    return hashes


def changed_since(recorded_sha, algo, checks=()):
    """The mark a table puts beside a result: '' when it ran at the algorithm file's hash;
    ' (checked same at COMMIT)' when a behaviour check leads from its hash to the file's (the
    commit of the check that reached it); ' (file changed since)' otherwise."""
    now = file_sha256(algo)
    if now == recorded_sha:
        return ""
    if now in vouched_hashes(recorded_sha, checks):
        head = next(c["head"] for c in checks if c["sha256"] == now)
        return f" (checked same at {head})"
    return " (file changed since)"


def source_commit(summary):
    """The commit the result's numbers belong to: the recorded one when the tree was clean,
    else the first commit whose algorithm file has the recorded sha256 (the file that ran)."""
    commit, sha = summary["commit"], summary.get("algo_sha256")
    if not commit.endswith("+dirty") or not sha or summary["algo"] == "random":
        return commit
    for c in reversed(git("log", "--format=%h", "--", f"{summary['algo']}.py").split()):
        blob = subprocess.run(["git", "show", f"{c}:{summary['algo']}.py"], cwd=ROOT,
                              capture_output=True).stdout
        if hashlib.sha256(blob).hexdigest()[:len(sha)] == sha:
            return f"{c} (file)"
    return commit


def run_on(summary):
    """The date and processor of a result, e.g. '2026-11-22, Intel Xeon'."""
    cpu = summary.get("machine", "").split(",")[0].replace("(R)", "").replace(" Processor", "")
    return f"{summary.get('date', '?')[:10]}, {cpu.strip() or '?'}"


def read_progress(progress_csv):
    """(global steps, episode returns, wall seconds) of a run's progress.csv, one per episode."""
    steps, returns, seconds = [], [], []
    with open(progress_csv) as f:
        for row in csv.DictReader(f):
            steps.append(int(row["global_step"]))
            returns.append(float(row["episode_return"]))
            seconds.append(float(row["wall_time_s"]))
    return steps, returns, seconds


def target_reached(progress_csv, target, window):
    """(global step, training seconds) at the first episode where the mean return of the last
    `window` episodes >= target; (None, None) if it never does."""
    steps, returns, seconds = read_progress(progress_csv)
    for i in range(len(returns)):
        recent = returns[max(0, i - window + 1): i + 1]
        if len(recent) == window and sum(recent) / window >= target:
            return steps[i], seconds[i]
    return None, None


def write_json(path, doc, indent=1, end="\n"):
    """doc to path (then `end`) through a temporary file renamed over it, so that an interrupted
    write never leaves half a results file in place of the last whole one, nor half a .tmp beside
    it (which a `git add` of the results folder would take)."""
    try:
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f, indent=indent)
            f.write(end)
        os.replace(path + ".tmp", path)
    except BaseException:  # Ctrl-C too
        if os.path.exists(path + ".tmp"):
            os.remove(path + ".tmp")
        raise


def last_json_line(cmd):
    """Run cmd (a training run that prints its result last) and return that JSON line."""
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
