"""`import pgbook` imports neither torch nor the presentation libraries; torch loads when a torch feature is used."""

import json
import subprocess
import sys

import numpy as np
import pytest

from pgbook.lazy_torch import is_tensor

IMPORTED = "[m for m in ('torch', 'matplotlib', 'scipy.signal', 'gymnasium', 'numba') if m in sys.modules]"

# The process's own peak resident memory: VmHWM starts afresh at exec, whereas getrusage's ru_maxrss keeps the
# peak of the process that forked it (here pytest, with torch loaded).
PEAK_MB = "[int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM')][0] / 1024"


def run_fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object, returned here."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_pgbook_leaves_torch_and_matplotlib_out_and_fits_in_150_mb():
    code = f"""
import json, sys
import pgbook as pg
mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
theta = pg.examples.corridor_params(0.3)
pg.exact_gradient(mdp, policy, theta)  # the numpy oracles do not need torch either
batch = pg.sample_episodes(mdp, policy, theta, 4, max_steps=100, seed=0)
pg.reinforce(batch, policy, theta)
print(json.dumps({{"loaded": {IMPORTED}, "peak_mb": {PEAK_MB}}}))
"""
    result = run_fresh(code)
    assert "torch" not in result["loaded"] and "matplotlib" not in result["loaded"], result
    assert "numba" not in result["loaded"], result  # a short sampling runs in Python (sampling.PYTHON_FIRST_STEPS)
    assert result["peak_mb"] < 150, result  # 359 MB when torch was imported eagerly (issue 24)


@pytest.mark.slow  # a fresh interpreter imports torch: ~2.7 s of CPU
def test_the_torch_features_import_torch_when_used():
    code = """
import json, sys
import numpy as np
import pgbook as pg
mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
theta = pg.examples.corridor_params(0.3)
before = "torch" in sys.modules
autodiff = pg.autodiff_gradient(mdp, policy, theta)
exact = pg.exact_gradient(mdp, policy, theta)
batch = pg.sample_episodes(mdp, policy, theta, 3, max_steps=100, seed=0, backend="torch")
import torch
tensor_theta = torch.tensor(theta, requires_grad=True)
module = pg.ModulePolicy(torch.nn.Linear(4, 2, dtype=torch.float64), 2, observations=np.eye(4))
module_theta = module.init_params(seed=0)
table = module.torch_log_probabilities(torch.tensor(module_theta)).exp().detach().numpy()
print(json.dumps({
    "before": before,
    "agree": bool(np.allclose(autodiff, exact, rtol=1e-10, atol=1e-12)),
    "episodes": batch.n_episodes,
    "tensor_theta": pg.exact_objective(mdp, policy, tensor_theta) == pg.exact_objective(mdp, policy, theta),
    "module_rows": np.abs(table.sum(axis=1) - 1).max(),
    "module_gradient": bool(np.allclose(
        pg.exact_gradient(mdp, module, module_theta), pg.autodiff_gradient(mdp, module, module_theta), atol=1e-10
    )),
}))
"""
    result = run_fresh(code)
    assert result["before"] is False
    assert result["agree"] and result["episodes"] == 3 and result["tensor_theta"] and result["module_gradient"]
    assert result["module_rows"] < 1e-12


def test_is_tensor():
    import torch

    assert is_tensor(torch.zeros(2)) and not is_tensor(np.zeros(2)) and not is_tensor([0.0])
