"""`python main.py <script> <configs...> --key value` does exactly what `fig ...` does, from any directory."""
from framework.cli import entry

if __name__ == '__main__':
    entry()
