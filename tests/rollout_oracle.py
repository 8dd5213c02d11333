"""An independent oracle for the fixed-length rollout update of SB3, TorchRL and CleanRL, written from the
definitions (not from pgbook.mistakes, whose ``rollouts`` it checks): the tests of real libraries and of the
chapter "Auditing real implementations" compare with it.
"""

import numpy as np


def advantage_moments(mdp, pi, critic, lam, n_steps, next_step=False):
    r"""E[Â | s, a, m] and E[Â² | s, a, m] for m = 1..n_steps steps left in the rollout (index m − 1).

    Â_t = δ_t + γλ(1 − done_t) Â_{t+1}, δ_t = r_t + γ(1 − done_t) V̂(s_{t+1}) − V̂(s_t); on the last step
    Â = δ with V̂(s_n) as the bootstrap. ``done`` is a move into a terminal state; rewards are deterministic.
    With ``next_step`` (Gymnasium 1.x's NEXT_STEP autoreset, CleanRL's loop), a terminal state is visited:
    its step ignores the action, earns 0 and resets (s' ~ μ0) without done, so its Â runs on into the next
    episode.
    """
    live = (~mdp.terminal).astype(float)
    S, A = pi.shape
    means, squares = np.zeros((n_steps, S, A)), np.zeros((n_steps, S, A))
    h, h2 = np.zeros(S), np.zeros(S)  # Σ_a' π E[Â' | s', a'] and the same for Â'², one step later
    for m in range(n_steps):
        for s in range(S):
            for a in range(A):
                if next_step and mdp.terminal[s]:
                    reward, successors = 0.0, mdp.initial
                else:
                    reward, successors = mdp.R[s, a], mdp.P[s, a]
                base = reward - critic[s]
                mean = square = 0.0
                for nxt in range(S):
                    p = successors[nxt]
                    if p == 0.0:
                        continue
                    if live[nxt]:
                        delta = base + mdp.gamma * critic[nxt]
                        g = mdp.gamma * lam
                        mean += p * (delta + g * h[nxt])
                        square += p * (delta**2 + 2 * g * delta * h[nxt] + g**2 * h2[nxt])
                    else:  # the episode ends: no bootstrap, no continuation
                        mean += p * base
                        square += p * base**2
                means[m, s, a], squares[m, s, a] = mean, square
        h, h2 = np.sum(pi * means[m], axis=1), np.sum(pi * squares[m], axis=1)
    return means, squares


def rollout_model(mdp, pi, critic, lam, n_steps, next_step=False):
    r"""The expected update of one rollout of ``n_steps`` steps from a reset (s_0 ~ μ0; an episode that ends
    restarts from μ0, Gymnasium's same-step auto-reset as SB3's VecEnv does it, or with ``next_step`` one step
    later, after a step at the terminal state), per unit of ∇π: a table W of shape (n_states, n_actions) with
    E[ĝ] = Σ_{s,a} W(s, a) ∇π(a|s), W = (1/n) Σ_t Pr(s_t = s) E_{n−t}(s, a); and the mean and the mean square
    of Â over the rollout's steps (for normalised advantages)."""
    live = ~mdp.terminal
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    if next_step:  # the state sequence enters the terminal state, and leaves it for μ0
        chain = np.where(live[:, None], P_pi, mdp.initial[None, :])
    else:
        restart = np.outer(P_pi[:, ~live].sum(axis=1), mdp.initial)
        chain = np.where(live[None, :], P_pi, 0.0) + restart
    means, squares = advantage_moments(mdp, pi, critic, lam, n_steps, next_step)
    p, W, first, second = mdp.initial.copy(), np.zeros_like(pi), 0.0, 0.0
    for t in range(n_steps):
        left = n_steps - 1 - t
        W += p[:, None] * means[left]
        first += np.sum(p[:, None] * pi * means[left])
        second += np.sum(p[:, None] * pi * squares[left])
        p = p @ chain
    return W / n_steps, first / n_steps, second / n_steps


def expected_length(mdp, pi):
    """E[T] from the absorption times of the chain on the non-terminal states: t = (I − P_live)⁻¹ 1."""
    live = ~mdp.terminal
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)[np.ix_(live, live)]
    return float(mdp.initial[live] @ np.linalg.solve(np.eye(live.sum()) - P_pi, np.ones(live.sum())))
