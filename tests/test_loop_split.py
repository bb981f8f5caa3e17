"""benchmarks/loop_split.py: it times the functions each file trains with, for every pair of
speed_floor.py; a renamed function fails here, not an hour into a benchmark. Times nothing long."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import common  # noqa: E402
import loop_split  # noqa: E402
import speed_floor  # noqa: E402


def test_every_floor_pair_has_its_rollout_and_update_functions_in_its_file():
    assert set(loop_split.PARTS) == set(speed_floor.PAIRS)
    for name, parts in loop_split.PARTS.items():
        module = common.algorithm_module(speed_floor.PAIRS[name][1][0][:-3])
        for where in parts:
            owner, _, attr = where.rpartition(".")
            assert callable(getattr(getattr(module, owner) if owner else module, attr)), where


def test_a_timed_function_returns_its_result_and_counts_its_calls_and_time():
    class Owner:
        @staticmethod
        def work(x, *, y):
            return sum(range(x)) + y

    clock = {"s": 0.0, "calls": 0}
    loop_split.timed(Owner, "work", clock)
    assert Owner.work(10_000, y=1) == 49_995_001 and Owner.work(3, y=0) == 3
    assert clock["calls"] == 2 and clock["s"] > 0
