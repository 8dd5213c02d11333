"""An oracle for the language-models tests: every response of a token task listed from its definition (not from
pgbook.sequences' own listing), log-probabilities by torch autograd, and expectations over every group of responses
by brute force. Shared by tests/library/test_sequences.py, test_mistakes_groups.py and
tests/book/test_chapter_language_models.py."""

import itertools

import numpy as np
import torch

import pgbook as pg
from pgbook import sequences as sq

END = "."


def setting(seed=4):
    task = sq.counting_task()
    policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    return task, policy, policy.init_params(seed=seed)


def listed(task):
    """Every response, from the definition: (prompt index, tokens as action indices, text, reward)."""
    tokens = (*task.vocabulary, END)
    state = {prefix: s for s, prefix in enumerate(task.prefixes)}
    rules = {x: int(prompt[0]) for x, prompt in enumerate(task.prompts)}
    out = []
    for x in range(len(task.prompts)):
        for n in range(1, task.horizon + 1):
            for body in itertools.product(task.vocabulary, repeat=n - 1):
                text = "".join(body)
                for last in tokens:
                    if n < task.horizon and last != END:
                        continue  # not finished yet
                    written = text + last
                    reward = float(written.endswith(END) and written.count("a") == rules[x])
                    path = [state[(x, written[:t])] for t in range(n)]
                    out.append((x, path, [tokens.index(c) for c in written], written, reward))
    return out


def torch_log_probs(task, theta, responses):
    """log π(o|x) per response, differentiable in theta (a tensor)."""
    log_pi = torch.log_softmax(theta, dim=1)
    return torch.stack(
        [sum(log_pi[s, a] for s, a in zip(path, acts, strict=True)) for _, path, acts, _, _ in responses]
    )


def scores_and_probabilities(task, theta, responses):
    """∇ log π(o|x) by torch autograd (one backward pass per response, each through its own sum, shaped like
    theta) and π(o|x), per response."""
    t = torch.tensor(theta, requires_grad=True)
    log_pi = torch.log_softmax(t, dim=1)
    log_p = [sum(log_pi[s, a] for s, a in zip(path, acts, strict=True)) for _, path, acts, _, _ in responses]
    scores = np.stack([torch.autograd.grad(lp, t, retain_graph=True)[0].numpy() for lp in log_p])
    return scores, np.exp([lp.item() for lp in log_p])


def brute_force(task, policy, theta, G, advantage, length):
    """E[ĝ] and E‖ĝ‖² over every group of G responses per prompt (uniform prompts)."""
    responses = listed(task)
    scores, p = scores_and_probabilities(task, theta, responses)
    scores = scores.reshape(len(responses), -1)
    mean, square = 0.0, 0.0
    for x in range(3):
        idx = [i for i, (y, *_) in enumerate(responses) if y == x]
        for combo in itertools.product(idx, repeat=G):
            combo = list(combo)
            r = np.array([responses[i][4] for i in combo])
            A = advantage(r)
            if length:
                A = A / np.array([len(responses[i][2]) for i in combo])
            g = (A[:, None] * scores[combo]).sum(axis=0) / G
            weight = np.prod(p[combo]) / 3
            mean, square = mean + weight * g, square + weight * g @ g
    return mean.reshape(theta.shape), square - mean @ mean


def group_limit(task, theta, *, spread=True, length=True):
    """GRPO's expected update in the large-group limit, from the listing (uniform prompts): Σ_q 1/3 Σ_o π(o|q)
    (r − J_q) / σ_q^s / |o|^𝟙len ∇log π(o|q), with σ_q = √(J_q(1 − J_q)) if ``spread`` and |o| if ``length``;
    shaped like θ."""
    responses = listed(task)
    scores, p = scores_and_probabilities(task, theta, responses)
    prompt = np.array([x for x, *_ in responses])
    reward = np.array([r for *_, r in responses])
    size = np.array([len(a) for _, _, a, _, _ in responses])
    expected = 0
    for q in range(3):
        mine = prompt == q
        J = p[mine] @ reward[mine]
        sigma = np.sqrt(J * (1 - J)) if spread else 1.0
        w = p[mine] * (reward[mine] - J) / (size[mine] if length else 1) / sigma
        expected = expected + np.tensordot(w, scores[mine], axes=1) / 3
    return expected
