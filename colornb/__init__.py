__version__ = "0.0.1"

def _share_cores_with_test_workers(cells=None):
    """nbdev-test's `test_setup` (pyproject.toml), run before it forks its notebook workers, one per core up to 8: each
    worker, and every process it starts, gets its share of the cores for PyTorch's threads, as `tests/conftest.py`
    gives pytest's workers theirs. With every process using every core, OpenMP threads spin-wait on each other: on 2
    cores, nbdev-test took 221 s with 2 threads a worker and 173 s with 1 (2026-12-06). An `OMP_NUM_THREADS` already
    set is kept."""
    import os
    cores = os.cpu_count() or 1
    os.environ.setdefault('OMP_NUM_THREADS', str(max(1, cores // min(cores, 8))))
