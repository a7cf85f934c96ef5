"""Comments, docstrings, configs and READMEs cite papers or files in this repository, never outside documents.

The repository ships alone: a reference to a design note, a section sign pointing into one, a numbered trap or an
issue number leaves a reader with nothing to follow. Cite the paper ("Eq. 6 of the MSP paper", "Table 2") or a
file here (``plugins/gdrae/README.md``).
"""
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECKED = ('.py', '.yaml', '.yml', '.md', '.sh', '.toml', '.txt', '.cfg')
OUTSIDE_REFERENCES = [
    (re.compile(r'shared/specs|\bspecs?/'), 'a path into the design notes'),
    (re.compile(r'\b(?:msp|sae|liegroup|gdrae|metrics|datasets|anchors|omnifig)\.md\b'), 'a design note by name'),
    (re.compile(r'§'), 'a section sign (cite "Sec. N of the paper" instead)'),
    (re.compile(r"\bthe specs?'s?\b(?! (?:it|is|are|was|were|of|per|for|in)\b)|\bspecs?'s\b", re.I),
     'a reference to "the spec" (say which paper or file)'),
    (re.compile(r'\b[Pp]itfall\s*\d+|\btrap\s+P?\d+|\(P\d{1,2}\)|\bP\d{1,2}(?:/P\d{1,2})+\b|^\s*[-#*]*\s*P\d{1,2}\b',
                re.M), 'a numbered trap'),
    (re.compile(r'\b[Ii]ssue\s+#?\d+'), 'an issue number'),
]


def tracked_files() -> list[Path]:
    out = subprocess.run(['git', 'ls-files'], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [REPO / line for line in out.splitlines() if line.endswith(CHECKED) and (REPO / line).is_file()]


def test_no_text_cites_a_document_outside_the_repository():
    this_file = Path(__file__).resolve()
    found = []
    for path in tracked_files():
        if path.resolve() == this_file:
            continue
        for number, line in enumerate(path.read_text(errors='replace').splitlines(), 1):
            for pattern, what in OUTSIDE_REFERENCES:
                if pattern.search(line):
                    found.append(f'{path.relative_to(REPO)}:{number}: {what}: {line.strip()[:100]}')
    assert not found, f'{len(found)} lines cite documents outside the repository:\n' + '\n'.join(found[:60])


def test_the_check_catches_each_kind_of_reference():
    samples = ['see shared/specs/msp.md', 'as sae.md says', 'spec §3.2', "the spec's table", 'trap P9',
               'pitfall 11', 'fixed in issue 9', '- P12 duplicate registration']
    for sample in samples:
        assert any(p.search(sample) for p, _ in OUTSIDE_REFERENCES), sample
    for clean in ['Eq. 6 of the MSP paper', 'Table 2 of the paper', 'plugins/gdrae/README.md', 'OptimizerSpec',
                  'inspect.signature', 'P(z) = N(0, I)', 'respects the seed', 'for spec in fields_of(cls):',
                  'returns one spec per optimiser', 'the spec it was built from', 'the specs are checked first']:
        assert not any(p.search(clean) for p, _ in OUTSIDE_REFERENCES), clean
