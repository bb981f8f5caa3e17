"""The results tables of README.md and benchmarks/RESULTS.md, made from benchmarks/results/*.json.

Each table sits between a start marker and `<!-- end results -->`; `render(text)` regenerates
every one of them, so no figure in either file is typed by hand (tests/test_readme.py checks
that both files are what this makes of the results). The markers:

    <!-- results: PATTERN ... -->   run.py's rows whose names match
    <!-- study: NAME KEY COLUMN ... -->   the rows summary[KEY] of a study's results file
    <!-- compare -->                every compare.py pair
    <!-- floor -->                  speed_floor.py's pairs
    <!-- loop_split -->             loop_split.py's pairs: where each file's time goes
    <!-- files -->                  the seven files, their default runs and measured times
    <!-- summary -->                one row per file against its stable-baselines3 counterpart

    python benchmarks/render.py        # or: python benchmarks/run.py --readme
"""
import fnmatch
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import changed_since, run_on, source_commit, todays_flags  # noqa: E402
from pairs import PAIRS  # noqa: E402

DOCS = ["README.md", os.path.join("benchmarks", "RESULTS.md")]

# The files table: each file, what it implements, and the results rows of its default run
# (`python <file>.py`, the file's own defaults and budget), whose training time it shows.
FILES = [
    ("reinforce", "REINFORCE: total return, reward-to-go, baselines (mean, optimal, learned), "
     "off-policy importance sampling", [("CartPole-v1, 500k steps", "reinforce_cartpole")]),
    ("actor_critic", "online and batch (A2C) advantage actor-critic, n-step targets, shared or "
     "separate networks", [("CartPole-v1, 500k steps", "actor_critic_cartpole_batch")]),
    ("gae", "policy gradient with Generalized Advantage Estimation and a fitted value function",
     [("CartPole-v1, 300k steps", "gae_cartpole")]),
    ("npg_trpo", "natural policy gradient and TRPO: Fisher-vector products, conjugate gradient, "
     "line search", [("CartPole-v1, 100k steps", "npg_trpo_trpo_cartpole")]),
    ("ppo", "PPO: clipped surrogate or adaptive KL penalty, GAE, minibatch epochs, discrete and "
     "continuous actions", [("CartPole-v1, 100k steps", "ppo_cartpole")]),
    ("a3c", "asynchronous advantage actor-critic: Hogwild workers, shared Adam, n-step, entropy, "
     "optional LSTM", [("CartPole-v1, 200k steps, 2 worker processes", "a3c_cartpole_default")]),
    ("dqn_ddpg", "DQN (replay, target network, double, dueling, prioritized) and DDPG",
     [("CartPole-v1 (DQN), 50k steps", "dqn_ddpg_dqn_cartpole"),
      ("Pendulum-v1 (DDPG), 20k steps", "dqn_ddpg_ddpg_pendulum")]),
]

# The summary table: each file beside its stable-baselines3 counterpart (compare.py's pairs)
SUMMARY = [("reinforce", "reinforce"), ("actor_critic", "a2c"), ("gae", "gae"),
           ("npg_trpo", "trpo"), ("ppo", "ppo"), ("a3c", "a3c"), ("dqn_ddpg", "dqn"),
           ("dqn_ddpg", "ddpg")]


def load(name):
    return json.load(open(os.path.join(common.RESULTS, f"{name}.json")))


def is_summary(s):
    return isinstance(s, dict) and "runs" in s and "eval_return_mean" in s


def stale_mark(s, short=False):
    """'' or ' (checked same at X)' or ' (file changed since)' for a run.py or compare.py result;
    short: only the last (the summary tables leave where a row was checked to RESULTS.md)."""
    mark = changed_since(s["algo_sha256"], s["algo"], s.get("behaviour_checks", ()))
    return "" if short and "changed" not in mark else mark


def table(patterns=()):
    """Markdown lines of the results files (all, or those whose name matches a pattern)."""
    lines = ["| name | env | seeds | eval return (mean ± std over seeds) | seeds >= target "
             "| median steps to target | median train s to target | train s | steps/s | commit "
             "| run on |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for path in sorted(glob.glob(os.path.join(common.RESULTS, "*.json"))):
        name = os.path.basename(path)[:-5]
        if patterns and not any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        s = json.load(open(path))
        if not is_summary(s):  # a study's own file (gradient variance, lambda sweep, ...)
            continue
        ev = ("-" if s["eval_return_mean"] is None
              else f"{s['eval_return_mean']:.1f} ± {s['eval_return_std']:.1f}")
        tgt = ("-" if s["target"] is None else
               f"{s['seeds_reaching_target']}/{s['seeds']} (>= {s['target']:g})")
        med = s["median_steps_to_target"]
        med = ("-" if med is None else
               f"{med:,.0f} ({s['seeds_with_training_return_at_target']} seeds)")
        sec = s.get("median_train_s_to_target")
        sec = "-" if sec is None else f"{sec:.1f}"
        t = "-" if s["mean_train_time_s"] is None else f"{s['mean_train_time_s']:.0f}"
        sps = "-" if s["mean_sps"] is None else f"{s['mean_sps']:,.0f}"
        stale = stale_mark(s) if s.get("algo_sha256") else ""  # the random floor has no file
        lines.append(f"| {s['name']} | {s['env_id']} | {s['seeds']} | {ev} | {tgt} "
                     f"| {med} | {sec} | {t} | {sps} | {source_commit(s)}{stale} | {run_on(s)} |")
    return lines


def study_table(name, key, columns):
    """Markdown lines of the rows summary[key] of a study's results file (a list of dicts)."""
    rows = load(name)[key]
    cell = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
    return (["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            + ["| " + " | ".join(cell(r.get(c, "-")) for c in columns) + " |" for r in rows])


def compare_table():
    """Markdown lines of every benchmarks/results/compare_*.json (benchmarks/compare.py), in
    PAIRS' order, then a line per pair whose sb3 side is only the closest counterpart."""
    both = lambda s, key, fmt: " / ".join("-" if s[w][key] is None else fmt.format(s[w][key])
                                          for w in ("ours", "sb3"))
    lines = ["| pair | ours | sb3 | env | steps | seeds | eval return: ours | eval return: sb3 "
             "| seeds >= target: ours / sb3 | median steps to target: ours / sb3 "
             "| median train s: ours / sb3 | ours / sb3 time | steps/s: ours / sb3 | commit "
             "| run on |",
             "|" + "---|" * 15]
    notes = []
    for name in PAIRS:
        if not os.path.exists(os.path.join(common.RESULTS, f"compare_{name}.json")):
            continue
        s = load(f"compare_{name}")
        ev = lambda w: f"{s[w]['eval_return_mean']:.1f} ± {s[w]['eval_return_std']:.1f}"
        to_target = lambda w: ("-" if s[w]["median_steps_to_target"] is None else
                               f"{s[w]['median_steps_to_target']:,.0f} "
                               f"({s[w]['seeds_with_training_return_at_target']})")
        sb3 = f"{s['sb3_algo']} ({s['sb3_version']})" + ("*" if s["note"] else "")
        command = " ".join(todays_flags(s["algo"], s["ours_command"].split()))
        lines.append(f"| {name} | {command} | {sb3} | {s['env_id']} "
                     f"| {s['total_timesteps']:,} | {s['seeds']} | {ev('ours')} | {ev('sb3')} "
                     f"| {both(s, 'seeds_eval_at_target', '{}')} (>= {s['target']:g}) "
                     f"| {to_target('ours')} / {to_target('sb3')} "
                     f"| {both(s, 'median_train_time_s', '{:.1f}')} "
                     f"| {s['wall_time_ratio_ours_over_sb3']:.2f} "
                     f"| {both(s, 'median_sps', '{:,.0f}')} "
                     f"| {source_commit(s)}{stale_mark(s)} | {run_on(s)} |")
        if s["note"]:
            notes.append(f"- \\* {name}: {s['note']}.")
    return lines + ([""] + notes if notes else [])


def best_of(runs):  # speed_floor.py --repeats: each side's fastest of its runs counts
    return f" (best of {len(runs)})" if runs and len(runs) > 1 else ""


def floor_table():
    """Markdown lines of benchmarks/results/speed_floor.json (benchmarks/speed_floor.py): per
    pair the floor, ours and ours / floor, the same over the floor timed interleaved, and sb3's
    time where sb3 has the algorithm."""
    if not os.path.exists(os.path.join(common.RESULTS, "speed_floor.json")):
        return []
    s = load("speed_floor")
    lines = ["| pair | ours | gradient steps (or updates) | ms each | env steps | ms each "
             "| floor s | ours s | ours / floor | interleaved floor s | ours / interleaved "
             "| sb3 s | floor / sb3 | ours / sb3 | eval return: ours / sb3 | commit | run on |",
             "|" + "---|" * 17]
    for name, r in s["pairs"].items():
        stale = changed_since(r["ours_sha256"], r["ours_command"].split()[0][:-3],
                              r.get("behaviour_checks", ()))
        given = lambda key, fmt: "-" if r.get(key) is None else fmt.format(r[key])
        unit = f" {r['unit']}" if r.get("unit", "gradient steps") != "gradient steps" else ""
        env_unit = f" ({r['env_unit']})" if r.get("env_unit") else ""
        lines.append(f"| {name} | {r['ours_command']} | {r['gradient_steps']:,}{unit} "
                     f"| {r['grad_s'] * 1e3:.2f} | {r['env_steps']:,}{env_unit} "
                     f"| {r['env_s'] * 1e3:.3f} | {r['floor_s']:.1f} | {r['ours_s']:.1f}"
                     f"{best_of(r.get('ours_runs_s'))} | {r['ours_s'] / r['floor_s']:.2f} "
                     f"| {given('floor_interleaved_s', '{:.1f}')} "
                     f"| {given('ours_over_floor_interleaved', '{:.2f}')} "
                     f"| {given('sb3_s', '{:.1f}')}{best_of(r.get('sb3_runs_s'))} "
                     f"| {given('floor_over_sb3', '{:.2f}')} | {given('ours_over_sb3', '{:.2f}')} "
                     f"| {r['ours_eval']:.1f} / {given('sb3_eval', '{:.1f}')} "
                     f"| {r.get('commit', s['commit'])}{stale} "
                     f"| {run_on(r if 'date' in r else s)} |")  # older files: the run's, at the top
    return lines


def loop_split_table():
    """Markdown lines of benchmarks/results/loop_split.json (benchmarks/loop_split.py): per pair
    the file's rollout and update seconds beside the floor's env steps and gradient steps. A
    timing: any change to the file since marks it, behaviour checks or not."""
    if not os.path.exists(os.path.join(common.RESULTS, "loop_split.json")):
        return []
    s = load("loop_split")
    lines = ["| pair | ours | train s | rollout s (calls) | floor's env steps s | update s (calls) "
             "| floor's gradient steps s | other s | commit | run on |", "|" + "---|" * 10]
    for name, r in s["pairs"].items():
        f, (rollout, update) = r.get("floor"), (r["rollout"], r["update"])
        floor = ["-" if f is None else f"{f[s_key] * f[n_key]:.1f}" for s_key, n_key in
                 (("env_s", "env_steps"), ("grad_s", "gradient_steps"))]
        stale = changed_since(r["sha256"], r["command"].split()[0][:-3])
        lines.append(f"| {name} | {r['command']} | {r['train_s']:.1f} "
                     f"| {rollout['s']:.1f} ({rollout['calls']:,}) | {floor[0]} "
                     f"| {update['s']:.1f} ({update['calls']:,}) | {floor[1]} "
                     f"| {r['other_s']:.1f} | {r.get('commit', s['commit'])}{stale} "
                     f"| {run_on(r if 'date' in r else s)} |")
    return lines


def files_table():
    """The seven files: what each implements, what `python <file>.py` trains, and how long that
    took (the training loop, one CPU core), from the results row of that default run."""
    lines = ["| file | algorithm | `python <file>.py` trains | training time (results row) |",
             "|---|---|---|---|"]
    for algo, what, runs in FILES:
        trains, took = [], []
        for default_run, name in runs:
            s = load(name)
            seconds = s["ours"]["median_train_time_s"] if "ours" in s else s["mean_train_time_s"]
            trains.append(default_run)
            took.append(f"{seconds:.0f} s (`{name}`){stale_mark(s, short=True)}")
        lines.append(f"| [{algo}.py]({algo}.py) | {what} | {'; '.join(trains)} "
                     f"| {'; '.join(took)} |")
    return lines


def summary_table():
    """One row per file beside its stable-baselines3 counterpart: eval return, seeds at the
    target and the ratio of training times, from compare.py's results."""
    lines = ["| file | sb3 | env, steps, seeds | eval return: ours / sb3 "
             "| seeds >= target: ours / sb3 | time: ours / sb3 |", "|" + "---|" * 6]
    for algo, pair in SUMMARY:
        s = load(f"compare_{pair}")
        star = "*" if s["note"] else ""
        lines.append(f"| {algo}.py{stale_mark(s, short=True)} | {s['sb3_algo']}{star} "
                     f"| {s['env_id']}, {s['total_timesteps'] // 1000}k, {s['seeds']} "
                     f"| {s['ours']['eval_return_mean']:.1f} / {s['sb3']['eval_return_mean']:.1f} "
                     f"| {s['ours']['seeds_eval_at_target']} / {s['sb3']['seeds_eval_at_target']}"
                     f" (>= {s['target']:g}) | {s['wall_time_ratio_ours_over_sb3']:.2f} |")
    return lines


def render(text):
    """text with every marked table regenerated from the results files."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("<!-- end results"):
            inside = False
        elif inside:
            continue
        out.append(line)
        if line.startswith("<!-- ") and not line.startswith("<!-- end results"):
            kind, _, words = line[len("<!-- "):-len("-->")].strip().partition(":")
            words = words.split()
            made = {"results": lambda: table(words), "compare": compare_table,
                    "floor": floor_table, "loop_split": loop_split_table,
                    "files": files_table, "summary": summary_table,
                    "study": lambda: study_table(words[0], words[1], words[2:])}.get(kind)
            if made:
                out += made()
                inside = True
    return "\n".join(out) + "\n"


def update():
    """Regenerate the tables of README.md and benchmarks/RESULTS.md in place."""
    for doc in DOCS:
        path = os.path.join(common.ROOT, doc)
        text = render(open(path).read())
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    update()
