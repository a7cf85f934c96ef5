"""How long `fig` spends before a script starts: composing a config, and the strict key check on top of it.

    python bench/cli_check.py            # prints milliseconds per command, median of 5 runs
"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from framework.cli import check_command  # noqa: E402
from framework.config import compose  # noqa: E402
from framework.config.keys import check_config  # noqa: E402

COMMANDS = [
    ['demo'],
    ['hybrid', 'a/e/conv12', 'a/d/conv12', 'm/vae', 'd/vec', '--reg-wt', '4'],
    ['hybrid', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec'],
    ['a/msp-resnet/3dshapes', 'm/msp', 'd/msp-3ds', '--seed', '1'],
    ['hybrid', 'a/gdrae', 'm/gdrae', 'd/sprites'],
]


def median_ms(work, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main():
    check_command('train', 'demo')                  # activate the project once
    print(f'{"command":<62} {"compose ms":>10} {"check ms":>9} {"fig up to the script ms":>24}')
    for args in COMMANDS:
        names = [a for a in args if not a.startswith('-') and not a[0].isdigit()]
        cfg = compose(*names)
        compose_ms = median_ms(lambda: compose(*names))
        check_ms = median_ms(lambda: check_config(cfg, 'train'))
        total_ms = median_ms(lambda: check_command('train', *args))
        print(f'{" ".join(args):<62} {compose_ms:>10.1f} {check_ms:>9.1f} {total_ms:>24.1f}')


if __name__ == '__main__':
    main()
