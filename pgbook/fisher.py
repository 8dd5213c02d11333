r"""The Fisher information matrix of a policy on a finite MDP, and the natural policy gradient.

The policy's Fisher matrix weights each state's Fisher matrix of :math:`\pi_\theta(\cdot|s)` by the discounted
visitation (Kakade 2001):

.. math::
    F(\theta) &= \sum_s d(s) \sum_a \pi_\theta(a|s) \\
        &\qquad \times \psi(s,a)\, \psi(s,a)^\top, \\
    \psi(s,a) &= \nabla_\theta \log \pi_\theta(a|s),

and the natural gradient is :math:`F(\theta)^+ \nabla J(\theta)`, the steepest-ascent direction when the size
of a step is measured by the expected KL divergence between the policies rather than by :math:`\|\Delta\theta\|`
(Amari 1998). Both are computed exactly, from the linear algebra of :mod:`pgbook.mdp`.

Neither squares anything it need not. For tabular softmax F is block-diagonal by state,
:math:`F_s = d(s)\,(\mathrm{diag}\,\pi_s - \pi_s \pi_s^\top)`, and the natural gradient has the closed form
:math:`A(s,a) - \frac1{|\mathcal A|}\sum_b A(s,b)` on the visited states (Kakade 2001). Otherwise the natural gradient
is the minimum-norm least-squares solution of :math:`\min_w \|B w - y\|`, with the square root
:math:`B = \sqrt{d\pi}\,\psi` of F and :math:`y = \sqrt{d\pi}\,A` (the compatible fit, Sutton et al. 2000), found
by a pseudo-inverse of B (whose cut-off is relative to :math:`\sqrt{\lambda_{\max}(F)}`, not to
:math:`\lambda_{\max}(F)`, which can be 1e-23 for a near-deterministic policy), or, when B is too large to form,
by LSQR (Paige & Saunders 1982: conjugate gradients on the normal equations :math:`F w = \nabla J`, in the stable
form that applies B and :math:`B^\top`, that is Fisher-vector products, without forming F).
"""

from __future__ import annotations

import numpy as np

from pgbook.arguments import as_flag, as_real
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, SoftmaxPolicy, TabularSoftmax, policy_table

DEFAULT_RCOND = 1e-12
#: The largest weighted design B (entries, n_states · n_actions · dim θ) formed densely; beyond it, LSQR.
MAX_DENSE_DESIGN = 2**22


def fisher_matrix(mdp: FiniteMDP, policy: Policy, theta: Params, *, normalized: bool = False) -> np.ndarray:
    r"""The exact Fisher information matrix of the policy under its discounted state visitation,

    .. math::
        F(\theta) = \sum_s d(s) \sum_a &\pi_\theta(a|s) \\
            &\times \nabla_\theta \log \pi_\theta(a|s) \\
            &\times \nabla_\theta \log \pi_\theta(a|s)^\top,

    with the unnormalised visitation :math:`d(s) = \sum_t \gamma^t \Pr(s_t = s)`, or its normalisation
    :math:`\bar d = d / \sum_s d(s)` when ``normalized=True`` (Kakade 2001's choice). It is also the Hessian
    at :math:`\theta' = \theta` of :math:`\sum_s d(s)\, \mathrm{KL}(\pi_\theta(\cdot|s) \,\|\, \pi_{\theta'}(\cdot|s))`,
    which is how the tests check it. For tabular softmax it is assembled from its per-state blocks
    :math:`d(s)\,(\mathrm{diag}\,\pi_s - \pi_s\pi_s^\top)`.

    Returns
    -------
    numpy.ndarray, shape (theta.size, theta.size)
        Symmetric and positive semi-definite; rows and columns follow ``theta.ravel()``.

    References
    ----------
    Kakade, S. (2001). A natural policy gradient. NeurIPS 14.

    Examples
    --------
    A softmax bandit: :math:`F = \mathrm{diag}(\pi) - \pi\pi^\top`.

    >>> import pgbook as pg
    >>> mdp = pg.examples.bandit([0.0, 1.0])
    >>> pg.fisher_matrix(mdp, pg.TabularSoftmax(1, 2), np.zeros((1, 2)))
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    pi = policy_table(mdp, policy, theta)
    theta = policy.check_params(theta)
    visitation = mdp.discounted_visitation(pi, normalized=normalized)
    if isinstance(policy, TabularSoftmax):
        n_states, n_actions = pi.shape
        fisher = np.zeros((n_states, n_actions, n_states, n_actions))
        every = np.arange(n_states)
        fisher[every, :, every, :] = visitation[:, None, None] * _softmax_covariances(pi)
        return fisher.reshape(pi.size, pi.size)
    design = _weighted_design(policy, theta, pi, np.sqrt(visitation[:, None] * pi))
    return design.T @ design


def natural_gradient(
    mdp: FiniteMDP, policy: Policy, theta: Params, *, normalized: bool = False, rcond: float = DEFAULT_RCOND
) -> np.ndarray:
    r"""The natural policy gradient :math:`\tilde\nabla J(\theta) = F(\theta)^+ \nabla J(\theta)`.

    :math:`F^+` is the pseudo-inverse: F is singular when some direction of θ leaves the policy unchanged (to
    first order) in every visited state, as adding the same constant to every logit of a state does for a
    tabular softmax. By the compatible-features theorem (Sutton et al. 2000) the result is the minimum-norm
    weight vector of the d·π-weighted least-squares fit of the advantages by the score features
    (:func:`pgbook.compatible_fit`), and that is how it is computed (see the module's docstring): in closed
    form for tabular softmax, :math:`A(s,a) - \frac1{|\mathcal A|}\sum_b A(s,b)` on the states with
    :math:`d(s) > 0` (0 elsewhere); otherwise by a pseudo-inverse of the fit's weighted design, whose singular
    values below ``rcond`` times the largest are dropped, or by LSQR with relative tolerance ``rcond`` when that
    design would have more than ``MAX_DENSE_DESIGN`` entries. With ``normalized=True`` F uses the normalised
    visitation, and the result is :math:`\sum_s d(s)` times larger (:math:`1/(1-\gamma)` on a continuing problem).

    Returns an array shaped like ``theta``.

    References
    ----------
    Kakade, S. (2001). A natural policy gradient. NeurIPS 14. Amari, S. (1998). Natural gradient works
    efficiently in learning. Neural Computation 10(2). Paige, C. C., Saunders, M. A. (1982). LSQR: an
    algorithm for sparse linear equations and sparse least squares. ACM TOMS 8(1).

    Examples
    --------
    For tabular softmax the natural gradient is the advantage, up to a constant per state (Kakade 2001):

    >>> import pgbook as pg
    >>> mdp = pg.examples.bandit([0.0, 1.0])
    >>> pg.natural_gradient(mdp, pg.TabularSoftmax(1, 2), np.zeros((1, 2)))
    array([[-0.5,  0.5]])
    >>> pg.advantages(mdp, pg.TabularSoftmax(1, 2), np.zeros((1, 2)))
    array([[-0.5,  0.5]])
    """
    rcond = as_real("rcond", rcond, within="[0, 1)")
    normalized = as_flag("normalized", normalized)
    pi = policy_table(mdp, policy, theta)
    return _natural_gradient_from_table(mdp, policy, policy.check_params(theta), pi, normalized=normalized, rcond=rcond)


def _natural_gradient_from_table(
    mdp: FiniteMDP, policy: Policy, theta: np.ndarray, pi: np.ndarray, *, normalized: bool, rcond: float
) -> np.ndarray:
    """:func:`natural_gradient` for checked arguments and the policy's table ``pi`` (for a loop that has
    them already: no argument is checked again)."""
    values, visitation = mdp._values_and_visitation(pi)
    advantage = mdp.action_values(pi, values) - values[:, None]
    weights = _compatible_weights(policy, theta, pi, visitation, advantage, rcond)
    return visitation.sum() * weights if normalized else weights


def _compatible_weights(
    policy: Policy, theta: np.ndarray, pi: np.ndarray, visitation: np.ndarray, target: np.ndarray, rcond: float
) -> np.ndarray:
    r"""The minimum-norm :math:`w` of :math:`\min_w \sum_s d(s) \sum_a \pi(a|s)\, (\psi(s,a)^\top w - f(s,a))^2`
    for the score features :math:`\psi` and a target table ``target`` (:math:`A_\pi`; :math:`Q_\pi` gives the
    same w), shaped like θ. Arguments already checked."""
    if isinstance(policy, TabularSoftmax):
        # per state, ψᵀw = w − (πᵀw)1 fits f best at w − (πᵀw)1 = f − (πᵀf)1, and the least norm of those w
        # subtracts the mean: w = f − mean(f) wherever d(s) > 0 (and π > 0, as a softmax's is), 0 elsewhere
        return np.where(visitation[:, None] > 0, target - target.mean(axis=1, keepdims=True), 0.0)
    root = np.sqrt(visitation[:, None] * pi)
    y = (root * target).ravel()
    if pi.size * theta.size <= MAX_DENSE_DESIGN:
        design = _weighted_design(policy, theta, pi, root)
        return np.linalg.lstsq(design, y, rcond=rcond)[0].reshape(theta.shape)
    from scipy.sparse.linalg import LinearOperator, lsqr  # only here: scipy.sparse costs `import pgbook` 30 ms

    products, weighted = policy._score_operators(theta)
    operator = LinearOperator(
        (pi.size, theta.size),
        matvec=lambda w: (root * products(w.reshape(theta.shape))).ravel(),
        rmatvec=lambda r: weighted(root * r.reshape(pi.shape)).ravel(),
        dtype=np.float64,
    )
    solution = lsqr(operator, y, atol=rcond, btol=rcond, iter_lim=10 * theta.size)[0]
    return solution.reshape(theta.shape)


def _softmax_covariances(pi: np.ndarray) -> np.ndarray:
    r"""The per-state Fisher matrices of a softmax in its logits, :math:`\mathrm{diag}\,\pi_s - \pi_s\pi_s^\top`,
    shape (n_states, n_actions, n_actions), with the diagonal :math:`\pi_a \sum_{b \ne a} \pi_b` summed, not
    subtracted from :math:`\pi_a`, so that it keeps its relative accuracy when :math:`\pi_a` is near 1."""
    covariances = -pi[:, :, None] * pi[:, None, :]
    others = pi @ (1.0 - np.eye(pi.shape[1]))
    diagonal = np.arange(pi.shape[1])
    covariances[:, diagonal, diagonal] = pi * others
    return covariances


def _weighted_design(policy: Policy, theta: np.ndarray, pi: np.ndarray, root: np.ndarray) -> np.ndarray:
    r"""The square root :math:`B = \sqrt{d\pi}\,\psi` of the Fisher matrix, shape (n_states · n_actions, dim θ)
    (``root`` is :math:`\sqrt{d\pi}`). For softmax policies the score is written as the sum of differences
    :math:`\psi(s,a) = \sum_b \pi(b|s)\,(\nabla h(s,a) - \nabla h(s,b))`, accurate when :math:`\pi(a|s) \approx 1`."""
    if isinstance(policy, SoftmaxPolicy):
        jacobian = policy.logit_jacobian(theta).reshape(pi.shape + (-1,))
        score = np.einsum("sb,sabk->sak", pi, jacobian[:, :, None] - jacobian[:, None, :])
    else:
        score = policy.score(theta).reshape(pi.shape + (-1,))
    return (root[:, :, None] * score).reshape(pi.size, -1)
