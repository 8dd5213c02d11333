"""CleanRL's PPO loop (``cleanrl_loop``, written from CleanRL's ``ppo.py`` and its published description) audited on
one of pgbook's finite MDPs, with Gymnasium's own ``SyncVectorEnv`` and its default NEXT_STEP autoreset.

K rollouts of 16 environments × 64 steps from a reset, at one θ (the actor a ``Linear`` on one-hot observations,
θ put in with ``ModulePolicy.write_params``) and the exact critic, γ = 1, GAE(λ = 1), no advantage normalisation;
each sample is −∇_θ L at the first minibatch step (a quarter of the rollout, ratio 1), before the optimizer step.
The samples are compared with two independent closed forms of the fixed-length rollout update with NEXT_STEP's
extra step (``pg.mistakes.rollouts(..., autoreset="next-step")`` and ``rollout_oracle.rollout_model(...,
next_step=True)``, written apart) and read by ``pg.check_samples``. A second setting, marked slow, has CleanRL's
default ``norm_adv=True`` (advantages normalised per minibatch): only a factor changes. The tests that read the
rollouts are marked slow (`make check` leaves them to the full suite); the closed forms' agreement is not.

False failures: each comparison is a Student-t test (K − 1 degrees of freedom), Bonferroni over its components,
at ``FALSE_FAILURE = 1e-3``; the verdict uses ``pg.check_samples``' default false alarm 1e-3; so a correct loop
fails a test with probability at most about 1e-3. The rejection of the SAME_STEP model is checked only where the
design can tell the two apart: their means must be at least (threshold + 3.1) standard errors apart along their
difference, so that it misses with probability below 1e-3. The seeds are fixed: the outcome is the same on every
run. Cost: the K = 200 rollouts, once per module, take about 7 s on a quiet core (18 s niced at load 5 on the 2
shared cores); everything else about 1 s. The slow normalised setting costs as much again.
"""

import numpy as np
import pytest

import pgbook as pg
from pgbook.gradient_estimate import GradientEstimate
from pgbook.policies import policy_table
from pgbook.stats import two_sided_threshold, z_scores

from cleanrl_loop import first_minibatch_gradients
from rollout_oracle import expected_length, rollout_model

torch = pytest.importorskip("torch")
gym = pytest.importorskip("gymnasium")

FALSE_FAILURE = 1e-3
N_ENVS, N_STEPS, K = 16, 64, 200
POWER_MARGIN = 3.1  # Φ(−3.1) < 1e-3: a separation of threshold + 3.1 SE is missed with probability below 1e-3


class CleanRLSetting:
    """K samples of the loop at one θ, with or without CleanRL's per-minibatch advantage normalisation, and the two
    closed forms of their mean (with normalisation, the large-batch limit: the mean divided by the standard
    deviation of Â over the rollout's steps)."""

    def __init__(self, *, norm_adv, seed, sample=True):
        mdp = pg.examples.random_mdp(5, 2, gamma=1.0, seed=23, n_terminal=1)
        table = pg.TabularSoftmax(5, 2).init_params(seed=1, scale=1)
        self.theta = np.concatenate([table.T.ravel(), np.zeros(2)])  # weight = θᵀ, bias = 0
        envs = gym.vector.SyncVectorEnv([lambda: pg.FiniteMDPEnv(mdp, dtype=np.float32)] * N_ENVS)
        assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP  # Gymnasium 1.x's default
        actor, critic = torch.nn.Linear(5, 2), torch.nn.Linear(5, 1)
        self.mdp = mdp
        self.policy = pg.ModulePolicy(actor, 2, observations=np.eye(5))
        self.policy.write_params(self.theta)
        self.critic = pg.state_values(mdp, self.policy, self.theta)
        with torch.no_grad():
            critic.weight.copy_(torch.as_tensor(self.critic[None], dtype=torch.float32))
            critic.bias.zero_()
        self.exact = pg.exact_gradient(mdp, self.policy, self.theta)
        pi = policy_table(mdp, self.policy, self.theta)
        self.oracle = {}
        for mode in ("same-step", "next-step"):
            W, first, second = rollout_model(mdp, pi, self.critic, 1.0, N_STEPS, next_step=mode == "next-step")
            scale = 1 / np.sqrt(second - first**2) if norm_adv else 1.0
            self.oracle[mode] = scale * self.policy.weighted_probability_gradient(self.theta, W)
        if not sample:  # the closed forms only
            envs.close()
            return
        self.samples = first_minibatch_gradients(
            envs, actor, critic, K, num_steps=N_STEPS, gamma=1.0, gae_lambda=1.0, norm_adv=norm_adv, seed=seed
        )
        envs.close()
        problem = pg.Problem("cleanrl", mdp, self.policy, self.theta, 300, critic=self.critic)
        self.report = pg.check_samples(self.samples, problem)
        self.result = self.report.results[0]
        catalogue = pg.mistakes.CATALOGUE + pg.mistakes.rollout_models(N_STEPS, 1.0)
        self.diagnosis = pg.check_samples(self.samples, problem, catalogue=catalogue).diagnosis


@pytest.fixture(scope="module")
def cleanrl():
    """The K rollouts (about 7 s on a quiet core): the tests that read them are marked slow, so that `make check`
    stays quick; the full suite (`make test`, CI) runs them."""
    return CleanRLSetting(norm_adv=False, seed=0)


@pytest.fixture(scope="module")
def closed_forms():
    return CleanRLSetting(norm_adv=False, seed=0, sample=False)


@pytest.fixture(scope="module")
def cleanrl_normalised():
    """CleanRL's default ``norm_adv=True``: advantages normalised over the first minibatch's 256 steps."""
    return CleanRLSetting(norm_adv=True, seed=7)


def test_the_two_closed_forms_agree(closed_forms):
    """pgbook's rollout models and the oracle written apart give the same means, for both autoreset modes."""
    for mode in ("same-step", "next-step"):
        library = pg.mistakes.expected_gradient(
            closed_forms.mdp,
            closed_forms.policy,
            closed_forms.theta,
            300,
            [pg.mistakes.rollouts(N_STEPS, 1.0, start="reset", autoreset=mode)],
            critic=closed_forms.critic,
        )
        np.testing.assert_allclose(library, closed_forms.oracle[mode], atol=1e-12)
    assert np.abs(closed_forms.oracle["next-step"] - closed_forms.oracle["same-step"]).max() > 1e-3


@pytest.mark.slow
def test_cleanrl_mean_is_the_next_step_rollout_model(cleanrl):
    _agrees_with_the_next_step_model(cleanrl)


@pytest.mark.slow
def test_normalised_advantages_only_rescale(cleanrl_normalised):
    """Normalised per minibatch, the mean is the NEXT_STEP model divided by Â's standard deviation (its large-batch
    limit; the minibatch's 256 steps leave an O(1/256) difference, below the noise), and the verdict "scaled"."""
    _agrees_with_the_next_step_model(cleanrl_normalised)
    assert cleanrl_normalised.result.verdict == "scaled", str(cleanrl_normalised.report)


def _agrees_with_the_next_step_model(cleanrl):
    threshold = two_sided_threshold(FALSE_FAILURE, cleanrl.samples.shape[1], K - 1)
    z = z_scores(GradientEstimate(cleanrl.samples), cleanrl.oracle["next-step"])
    assert np.abs(z).max() <= threshold, z


@pytest.mark.slow
def test_same_step_model_is_rejected(cleanrl):
    """Along the difference d of the two models' means, the samples' mean is the NEXT_STEP model's and not the
    SAME_STEP model's; first, that the design separates them (else the test would say nothing)."""
    d = cleanrl.oracle["next-step"] - cleanrl.oracle["same-step"]
    along = cleanrl.samples @ d
    error = along.std(ddof=1) / np.sqrt(K)
    threshold = two_sided_threshold(FALSE_FAILURE, 1, K - 1)
    separation = abs(d @ d) / error
    assert separation >= threshold + POWER_MARGIN, f"the data cannot tell the modes apart: {separation:.2f} SE"
    assert abs(along.mean() - cleanrl.oracle["next-step"] @ d) / error <= threshold
    assert abs(along.mean() - cleanrl.oracle["same-step"] @ d) / error > threshold


@pytest.mark.slow
def test_check_samples_says_scaled(cleanrl):
    """γ = 1, exact critic, no normalisation: "scaled" (∇J up to a positive factor), the model's factor within the
    noise of the samples' component along ∇J, and the model's angle inside the report's interval."""
    result, model, exact = cleanrl.result, cleanrl.oracle["next-step"], cleanrl.exact
    assert result.verdict == "scaled", str(cleanrl.report)
    factor = model @ exact / (exact @ exact)
    along = cleanrl.samples @ exact / (exact @ exact)
    error = along.std(ddof=1) / np.sqrt(K)
    assert abs(along.mean() - factor) <= two_sided_threshold(FALSE_FAILURE, 1, K - 1) * error
    model_angle = np.degrees(np.arccos(model @ exact / np.linalg.norm(model) / np.linalg.norm(exact)))
    low, high = result.angle_interval
    assert low <= model_angle <= high, (model_angle, result.angle_interval)


@pytest.mark.slow
def test_diagnosis_names_next_step_rollouts(cleanrl):
    """With the four rollout models in the catalogue, the diagnosis names NEXT_STEP's (from a reset among them:
    with episodes of about 3.6 steps, 64 steps from a reset and the stationary chain are too close to tell
    apart) and none of SAME_STEP's."""
    diagnosis = cleanrl.diagnosis
    assert diagnosis is not None and diagnosis.found, str(diagnosis)
    names = [match.name for match in diagnosis.matches]
    assert all("NEXT_STEP extra step" in name for name in names), names
    assert any("64 steps from a reset, with Gymnasium's NEXT_STEP" in name for name in names), names


def test_next_step_model_is_the_renewal_limit():
    """The oracle's NEXT_STEP model is checked against the theorem too, not only against the loop: as n_steps grows,
    at γ = 1 with the exact critic, each episode of T steps takes T + 1 steps of the rollout, so the update is
    ∇J / (E[T] + 1) (SAME_STEP's is ∇J / E[T])."""
    mdp = pg.examples.random_mdp(5, 2, gamma=1.0, seed=23, n_terminal=1)
    policy = pg.TabularSoftmax(5, 2)
    theta = policy.init_params(seed=1)
    pi = policy.probabilities(theta)
    W, _, _ = rollout_model(mdp, pi, pg.state_values(mdp, policy, theta), 1.0, 4_000, next_step=True)
    exact = pg.exact_gradient(mdp, policy, theta)
    np.testing.assert_allclose(
        policy.weighted_probability_gradient(theta, W),
        exact / (expected_length(mdp, pi) + 1),
        atol=2e-3 * np.abs(exact).max(),
    )
