"""Shared fixtures: a deterministic hypothesis profile and strategies for random problems."""

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# One thread per process, set before torch or numpy is imported; the book's kernels inherit it. The test run
# keeps both cores busy (two xdist workers and a chapter's kernel), and then torch's thread pool makes each small
# operation wait on a busy core: training CartPole took 433 s with two threads, 35 s with one.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import pgbook as pg  # noqa: E402

# derandomize: the same examples on every run and machine (the project's determinism rule).
settings.register_profile(
    "pgbook", derandomize=True, deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("pgbook")


@st.composite
def problems(draw, *, max_states: int = 6, max_actions: int = 4):
    """A random MDP (continuing with gamma < 1, or episodic with gamma = 1), a policy and theta.

    The policy is tabular or linear softmax; theta has entries up to 3 in size, so that some action
    probabilities are far from uniform.
    """
    n_states = draw(st.integers(1, max_states), label="n_states")
    n_actions = draw(st.integers(1, max_actions), label="n_actions")
    episodic = n_states > 1 and draw(st.booleans(), label="episodic")
    gamma = 1.0 if episodic else draw(st.floats(0.0, 0.95), label="gamma")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    mdp = pg.examples.random_mdp(n_states, n_actions, gamma=gamma, seed=seed, n_terminal=int(episodic))
    rng = np.random.default_rng(seed + 1)
    if draw(st.booleans(), label="linear"):
        policy = pg.LinearSoftmax(rng.standard_normal((n_states, n_actions, draw(st.integers(1, 5)))))
    else:
        policy = pg.TabularSoftmax(n_states, n_actions)
    theta = rng.uniform(-3.0, 3.0, size=policy.param_shape)
    return mdp, policy, theta


def gradient_scale(mdp: pg.FiniteMDP, policy: pg.Policy, theta: np.ndarray) -> float:
    r"""A natural size for ∇J on this problem: Σ_s d(s) · max|Q| · max|∇ logits|.

    It bounds ‖∇J‖_∞ up to a small constant, and serves as the absolute floor of relative comparisons, so
    that a gradient that is zero (one action, say) is compared at the problem's own scale and not at 0.
    """
    visitation = pg.discounted_visitation(mdp, policy, theta)
    q_values = pg.action_values(mdp, policy, theta)
    features = getattr(policy, "features", np.ones(1))
    return float(visitation.sum() * max(np.abs(q_values).max(), 1e-300) * np.abs(features).max())


def assert_close(actual, expected, *, rtol: float, scale: float) -> None:
    """‖actual − expected‖_∞ ≤ rtol · max(‖expected‖_∞, scale), with a message giving both sides."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    error = np.abs(actual - expected).max(initial=0.0)
    bound = rtol * max(np.abs(expected).max(initial=0.0), scale)
    assert error <= bound, f"error {error:.3e} > {bound:.3e}\nactual   {actual}\nexpected {expected}"


ROOT = Path(__file__).resolve().parents[1]


def corridor_batch() -> pg.Batch:
    """Five short-corridor episodes at P(right) = 0.3, seed 0: a small valid batch for the input tests to edit."""
    mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    return pg.sample_episodes(mdp, policy, pg.examples.corridor_params(0.3), 5, max_steps=1_000, seed=0)


def estimator_problems() -> dict[str, tuple]:
    """The problems the estimators are tested on: name → (mdp, policy, θ, max_steps)."""
    corridor = (
        pg.examples.short_corridor(),
        pg.examples.short_corridor_policy(),
        pg.examples.corridor_params(0.3),
        2_000,
    )
    bandit_policy = pg.TabularSoftmax(1, 4)
    bandit = pg.examples.bandit([1.0, -0.5, 2.0, 0.3]), bandit_policy, bandit_policy.init_params(seed=3), 1
    tabular = pg.TabularSoftmax(10, 4)
    # Cut off at 150 steps: the discounted rewards left out (γ^150 ≈ 1e-7 of the scale) bias the mean by well
    # under a thousandth of its standard error.
    continuing = pg.examples.random_mdp(10, 4, gamma=0.9, seed=0), tabular, tabular.init_params(seed=0), 150
    episodic = (
        pg.examples.random_mdp(10, 4, gamma=1.0, seed=1, n_terminal=2),
        tabular,
        tabular.init_params(seed=1),
        2_000,
    )
    linear = pg.LinearSoftmax(np.random.default_rng(2).standard_normal((10, 4, 3)))
    discounted_episodic = (
        pg.examples.random_mdp(10, 4, gamma=0.8, seed=2, n_terminal=1),
        linear,
        linear.init_params(seed=2),
        300,
    )
    return {
        "corridor": corridor,
        "corridor, torch sampling": corridor,
        "bandit": bandit,
        "continuing": continuing,
        "episodic": episodic,
        "discounted-episodic-linear": discounted_episodic,
    }


def book_pages() -> list[str]:
    """The book's pages in table-of-contents order (names under book/, without extension)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    return [Path(file).name for file in files]


def pages_containing(text: str) -> list[str]:
    """The pages whose source contains ``text`` (for example the call that shows an interactive figure)."""
    return [page for page in book_pages() if text in (ROOT / "book" / f"{page}.md").read_text()]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Order the run for two workers, and check that ``--dist loadgroup`` takes effect.

    The "book" group is the largest, so one worker takes it first and builds the book while the other runs
    the rest. The other tests that need the built book (the browser tests) come last, so that both workers
    share them once the book is built, rather than one worker doing them after the build.

    Under ``--dist loadgroup`` each xdist worker must see the group in the ids of grouped tests: otherwise
    the book's tests are spread over both workers, which then both wait for one book build (pytest 9.2
    with pytest-xdist 3.8 silently did this, doubling the test run's time).

    Kept because nothing simpler keeps the build and the other tests overlapping (issue 11, item 15):
    without xdist, the other tests' time adds to the build's; without ``--dist loadgroup`` (``load``,
    ``loadfile``, ``loadscope``), the book's tests land on both workers, which both wait for the one build;
    and ``loadgroup`` needs pytest < 9.2 (the pin in requirements-dev.txt). Putting the browser tests in
    the "book" group would drop this ordering and the lock in ``built_book``, but would run them all on the
    build's worker after the build, while the other worker idles.
    """
    items.sort(key=lambda item: "built_book" in item.fixturenames and not item.get_closest_marker("xdist_group"))
    if not config.getoption("loadgroup", default=False):  # set only in xdist workers
        return
    for item in items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
            raise pytest.UsageError(
                f"--dist loadgroup has no effect on {item.nodeid}: pytest and pytest-xdist are incompatible "
                "(install the versions pinned in requirements-dev.txt)"
            )


SLOW_MODULE = re.compile(r"^pytestmark = .*\bpytest\.mark\.slow\b", re.MULTILINE)


def pytest_ignore_collect(collection_path, config):
    """Under ``-m "not slow"`` (`make check`), a test module marked slow as a whole is not even imported: importing
    the book's and the browsers' test modules (jupytext, JupyterLab, matplotlib) cost each worker ~3 s of CPU."""
    if config.getoption("markexpr") == "not slow" and collection_path.name.startswith("test_"):
        if collection_path.suffix == ".py" and SLOW_MODULE.search(collection_path.read_text()):
            return True
    return None


def run_folder(tmp_path_factory) -> Path:
    """The test run's own folder, shared by its xdist workers (each worker's base folder is inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def run_once(tmp_path_factory, name: str, command: list[str], timeout: float, env: dict | None = None) -> None:
    """Run ``command`` once per test run, even when several xdist workers ask for it, and fail if it failed.

    The first worker to take the lock runs it, the others wait and reuse its outcome: a failure (or a timeout) is
    reported to each of them, not retried.
    """
    shared = run_folder(tmp_path_factory)
    log = shared / f"{name}.log"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not log.exists():
            try:
                result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
                log.write_text(f"{result.returncode}\n" + result.stdout[-6000:] + result.stderr[-6000:])
            except subprocess.TimeoutExpired:
                log.write_text(f"timeout\n{name} did not finish within {timeout} s: {command}")
    returncode, _, messages = log.read_text().partition("\n")
    assert returncode == "0", messages


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the whole book once per test run (warnings are errors, every chapter executed); its HTML folder.

    Once per run even when several xdist workers ask for it (`run_once`): the "book" group's worker and, for the
    browser tests that run last, the other (see above); and under plain ``-n 2`` (``--dist load``) the lock keeps
    two workers from building into one folder at once.

    PGBOOK_BUILT_BOOK=_build/html instead reads a book already built (`make book`) from these very sources: for
    the development loop only, as the tests then check that build, warnings and all, not the current sources.
    """
    if prebuilt := os.environ.get("PGBOOK_BUILT_BOOK"):
        assert (Path(prebuilt) / "book" / "intro.html").is_file(), f"PGBOOK_BUILT_BOOK={prebuilt}: no built book"
        return Path(prebuilt)
    shared = run_folder(tmp_path_factory)
    output = shared / "book"
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    run_once(
        tmp_path_factory,
        "book-build",
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(output), "-W", "-n", "--keep-going"],
        timeout=3600,
    )
    return output / "_build" / "html"


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def chromium():
    """Debian's headless Chromium driven by Playwright: the one browser of the browser and JupyterLab tests.

    Locally, without /usr/bin/chromium, its tests are skipped with that reason; under CI (CI=true) a missing
    browser is a failure, not a skip (`.ci/run` installs the package).
    """
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError(f"Chromium is missing at {CHROMIUM}: .ci/run must install Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
