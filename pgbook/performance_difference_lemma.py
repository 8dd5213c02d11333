r"""The performance-difference lemma (Kakade & Langford 2002): how much better one policy is than another,
from the first policy's advantages averaged over the second policy's states and actions."""

from __future__ import annotations

import numpy as np

from pgbook.evaluation import advantages, discounted_visitation
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, policy_table


def performance_difference(mdp: FiniteMDP, policy: Policy, theta: Params, new_theta: Params) -> float:
    r"""The right side of the performance-difference lemma,

    .. math::
        &J(\theta') - J(\theta) \\
        &\quad = \sum_s d_{\theta'}(s) \sum_a \pi_{\theta'}(a|s)\, A_{\theta}(s,a),

    with :math:`d_{\theta'}` the unnormalised discounted visitation of the *new* policy and :math:`A_\theta` the
    advantages of the old one. (With the normalised visitation :math:`\bar d_{\theta'}` the right side gains the
    factor :math:`\sum_s d_{\theta'}(s)`, which is :math:`1/(1-\gamma)` only on a continuing problem.) It equals
    the difference of the exact objectives; the tests check that, and that the sampled
    :math:`\sum_t \gamma^t A_\theta(s_t, a_t)` along episodes of :math:`\pi_{\theta'}` averages to it.

    References
    ----------
    Kakade, S., Langford, J. (2002). Approximately optimal approximate reinforcement learning. ICML, Lemma 6.1.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    >>> old, new = policy.init_params(seed=0), policy.init_params(seed=1)
    >>> difference = pg.performance_difference(mdp, policy, old, new)
    >>> bool(np.isclose(difference, pg.exact_objective(mdp, policy, new) - pg.exact_objective(mdp, policy, old)))
    True
    """
    old_advantages = advantages(mdp, policy, theta)
    new_pi = policy_table(mdp, policy, new_theta)
    new_visitation = discounted_visitation(mdp, policy, new_theta)
    return float(np.sum(new_visitation[:, None] * new_pi * old_advantages))
