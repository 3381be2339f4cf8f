"""Tests/difftest/run.py --programs N --seed S: the difftest CLI without setting PYTHONPATH."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(os.path.dirname(HERE)), "python")]
os.environ["PYTHONPATH"] = os.pathsep.join(sys.path[:2] + [os.environ.get("PYTHONPATH", "")])

from difftest.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
