"""``python -m framework <script> [configs...] [--key value]``: the same as ``fig ...``, from any directory."""
from framework.cli import entry

if __name__ == '__main__':
    entry()
