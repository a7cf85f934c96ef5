"""`python main.py <script> <configs...> --key value` does exactly what `fig ...` does, from any directory."""
from framework.config import entry

if __name__ == '__main__':
    entry()
