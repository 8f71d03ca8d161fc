"""Write README.md from nbs/index.ipynb, the README's source (`readme_nb` in pyproject.toml), without Quarto.

nbdev's own `nbdev-readme` renders the index notebook with `quarto render`, and Quarto is needed for nothing else here,
so this script renders it instead, by these rules:

- markdown cells are copied as they are, except that relative links and images are rebased from the notebook's
  folder to the README's (`00_lab.ipynb` → `nbs/00_lab.ipynb`, `../images/pipeline.png` → `images/pipeline.png`),
  so that they work in Jupyter and on the repository's front page alike;
- code cells become ```python blocks, without their `#|` directive lines; cells with `#| hide`, `#| include: false`
  or `#| echo: false` are left out: they are the checks that `nbdev-test` runs on the examples;
- outputs are never copied: the README shows code, and its comments say what the code gives;
- a first line, an HTML comment that GitHub and PyPI do not show, says where the README comes from.

    python tools/make_readme.py            # write README.md
    python tools/make_readme.py --check    # exit status 1, with a diff, if README.md is not what the notebook gives

CI regenerates README.md next to `nbdev-export` and fails if that changes it; tests/test_readme.py checks it too.
"""
import argparse, difflib, os, posixpath, re, sys
from pathlib import Path
from fastcore.nbio import read_nb

REPO = Path(__file__).resolve().parent.parent
INDEX_NB, README = REPO/'nbs'/'index.ipynb', REPO/'README.md'
LINK = re.compile(r'(!?\[[^\]]*\]\()([^)\s]+)') # the start of a markdown link or image, and its target
FENCE = re.compile(r'^\s*(```|~~~)')
HEADER = '<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, then run the script. -->'

def rebase(target:str, # a link target as written in the notebook
           folder:str # the notebook's folder relative to the README's, in POSIX form ('nbs')
          )->str:
    "`target` as seen from the README's folder: relative paths are rebased, URLs, anchors and absolute paths kept."
    if re.match(r'[a-zA-Z][a-zA-Z0-9+.-]*:', target) or target.startswith(('#', '/')): return target
    path, hash_, fragment = target.partition('#')
    return posixpath.normpath(posixpath.join(folder, path)) + hash_ + fragment

def rebase_links(md:str, # a markdown cell's source
                 folder:str # the notebook's folder relative to the README's
                )->str:
    "`md` with the targets of its links and images rebased, outside fenced code blocks."
    lines, in_code = md.split('\n'), False
    for i, line in enumerate(lines):
        if FENCE.match(line): in_code = not in_code
        elif not in_code: lines[i] = LINK.sub(lambda m: m[1] + rebase(m[2], folder), line)
    return '\n'.join(lines)

def shown(cell)->bool:
    "Whether a code cell belongs in the README: not hidden by `#| hide`, `#| include: false` or `#| echo: false`."
    d = cell.directives
    return 'hide' not in d and d.get('include') != 'false' and d.get('echo') != 'false'

def cell_markdown(cell, # a cell of the notebook, from `fastcore.nbio.read_nb`
                  folder:str # the notebook's folder relative to the README's
                 )->str:
    "The README text of one cell: a markdown cell's text, a code cell as a ```python block ('' when not shown)."
    if cell.cell_type == 'markdown': return rebase_links(cell.source.strip(), folder)
    if cell.cell_type != 'code' or not shown(cell): return ''
    cell.remove_directives()
    return f'```python\n{cell.source.strip()}\n```' if cell.source.strip() else ''

def render(nb_path:Path=INDEX_NB, # the README's notebook
           readme:Path=README # where the README goes (only its folder is used, to rebase links)
          )->str:
    "The README that `nb_path` gives: `HEADER`, then its shown cells in order, separated by blank lines."
    folder = Path(os.path.relpath(nb_path.resolve().parent, readme.resolve().parent)).as_posix()
    parts = [cell_markdown(c, folder) for c in read_nb(nb_path).cells]
    return '\n\n'.join([HEADER] + [p for p in parts if p]) + '\n'

def stale_diff(nb_path:Path=INDEX_NB, readme:Path=README)->str:
    "A unified diff from `readme` to what `nb_path` gives; '' when the README is up to date."
    want = render(nb_path, readme)
    have = readme.read_text(encoding='utf-8') if readme.exists() else ''
    diff = difflib.unified_diff(have.splitlines(True), want.splitlines(True), str(readme), f'from {nb_path.name}')
    return ''.join(diff)

def main(argv=None)->int:
    "Write the README, or with --check say whether it is up to date; the exit status."
    ap = argparse.ArgumentParser(description='Write README.md from nbs/index.ipynb')
    ap.add_argument('--check', action='store_true', help='write nothing; exit 1 with a diff if README.md is stale')
    args = ap.parse_args(argv)
    if args.check:
        diff = stale_diff()
        if diff: print(f'{README.name} is not what {INDEX_NB.name} gives; run `python tools/make_readme.py`:\n{diff}')
        return 1 if diff else 0
    README.write_text(render(), encoding='utf-8')
    return 0

if __name__ == '__main__': sys.exit(main())
