"README.md is generated from nbs/index.ipynb by tools/make_readme.py: it must be what the notebook gives."
import json, re, sys, tomllib
from conftest import REPO
sys.path.insert(0, str(REPO/'tools'))
import make_readme

def test_readme_is_what_the_index_notebook_gives():
    diff = make_readme.stale_diff()
    assert not diff, f'README.md is stale: edit nbs/index.ipynb, then run `python tools/make_readme.py`\n{diff[:3000]}'

def test_the_notebook_is_the_one_nbdev_names():
    nbdev = tomllib.loads((REPO/'pyproject.toml').read_text())['tool']['nbdev']
    assert make_readme.INDEX_NB == REPO/nbdev['nbs_path']/nbdev['readme_nb']
    assert make_readme.INDEX_NB.exists()

def test_readme_keeps_the_two_commands():
    blocks = re.findall(r'```bash\n(.*?)\n```', (REPO/'README.md').read_text(), flags=re.S)
    assert 'pip install -e . && colornb demo' in blocks
    assert 'pip install -e ".[dev]" && nbdev-test && pytest tests/' in blocks

def test_readme_python_examples_are_cells_that_nbdev_test_runs():
    "Every ```python block of the README is a code cell of the notebook that runs: no `eval: false`, no skip flag."
    readme = (REPO/'README.md').read_text()
    cells = make_readme.read_nb(make_readme.INDEX_NB).cells
    cells = [c for c in cells if c.cell_type == 'code' and make_readme.shown(c)]
    assert cells
    assert len(re.findall(r'^```python$', readme, flags=re.M)) == len(cells)
    for c in cells: assert not ({'eval', 'slow', 'skip'} & set(c.directives)), c.source

def notebook(path, *cells):
    "Write a notebook of `cells`, each ('markdown' or 'code', source), at `path`."
    nb = dict(cells=[dict(cell_type=k, id=f'c{i}', metadata={}, source=s, **(dict(outputs=[], execution_count=None)
                                                                          if k == 'code' else {}))
                     for i, (k, s) in enumerate(cells)],
              metadata={}, nbformat=4, nbformat_minor=5)
    path.write_text(json.dumps(nb))
    return path

def test_rendering_rules(tmp_path):
    (tmp_path/'nbs').mkdir()
    nb = notebook(tmp_path/'nbs'/'index.ipynb',
                  ('markdown', '# title\n\n![pic](../images/p.png) [lesson](00_lab.ipynb#top) [all](.) '
                               '[web](https://x.org/a.md) [here](#usage)\n\n```bash\necho [not](a/link)\n```'),
                  ('code', '#| hide\nassert False'),
                  ('code', '#| echo: false\nsecret = 1'),
                  ('code', '#| include: false\nsecret = 2'),
                  ('code', '#| eval: false\nshown_not_run()'),
                  ('code', '#| export\n'), # nothing left once the directive goes
                  ('code', 'x = 1  # a comment\n'))
    out = make_readme.render(nb, tmp_path/'README.md')
    assert out.startswith(make_readme.HEADER + '\n\n# title\n')
    assert ('![pic](images/p.png) [lesson](nbs/00_lab.ipynb#top) [all](nbs) [web](https://x.org/a.md) [here](#usage)'
            in out)
    assert 'echo [not](a/link)' in out
    assert '```python\nshown_not_run()\n```\n\n```python\nx = 1  # a comment\n```\n' in out
    assert 'assert False' not in out
    assert 'secret' not in out
    assert '#|' not in out
    assert '```python\n\n```' not in out

def test_check_reports_a_stale_readme(tmp_path):
    nb = notebook(tmp_path/'index.ipynb', ('markdown', '# new'))
    readme = tmp_path/'README.md'
    readme.write_text('# old\n')
    assert '-# old' in make_readme.stale_diff(nb, readme)
    assert '+# new' in make_readme.stale_diff(nb, readme)
    readme.write_text(make_readme.render(nb, readme))
    assert make_readme.stale_diff(nb, readme) == ''
