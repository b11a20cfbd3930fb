"""Sample-quality metrics of generated SC09 clips, computed from a digit classifier's class
probabilities and penultimate features as in SaShiMi's evaluation (Goel et al. 2022, after
Kong et al. 2021): FID and AM against the reference (train split) statistics, IS on two
seeded halves, modified IS on 10,000 seeded random pairs. KL divergences and entropies are in
nats, per clip over the classes."""
from __future__ import annotations

import math

import torch

EPS = 1e-12


def _kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) over the last dimension, (..., classes) -> (...), nats."""
    return (p * (torch.log(p + EPS) - torch.log(q + EPS))).sum(-1)


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T


def fid(features_ref: torch.Tensor, features_gen: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to (n, d) feature sets:
    |mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r S_g)^1/2), in float64."""
    if features_ref.shape[0] < 2 or features_gen.shape[0] < 2:
        raise ValueError("FID needs at least two clips in each set")
    a, b = features_ref.double(), features_gen.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    root_a = _psd_sqrt(cov_a)
    # tr((S_a S_b)^1/2) = sum of sqrt(eigenvalues of S_a^1/2 S_b S_a^1/2), a symmetric PSD matrix
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def inception_score(probs: torch.Tensor, seed: int = 0) -> float:
    """exp(mean KL(p(y|x) || p(y))): clips shuffled with ``seed``, p(y|x) from the first half,
    the marginal p(y) from the second. probs (n >= 2, classes)."""
    if probs.shape[0] < 2:
        raise ValueError("IS needs at least two clips")
    g = torch.Generator().manual_seed(seed)
    p = probs.double()[torch.randperm(probs.shape[0], generator=g)]
    half = p.shape[0] // 2
    return math.exp(float(_kl(p[:half], p[half:].mean(0, keepdim=True)).mean()))


def modified_inception_score(probs: torch.Tensor, pairs: int = 10000, seed: int = 0) -> float:
    """exp(mean KL(p(y|x_i) || p(y|x_j))) over ``pairs`` random (i, j), drawn with replacement:
    high when each clip is confidently one class and the clips differ (intra-class diversity)."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, probs.shape[0], (pairs, 2), generator=g)
    p = probs.double()
    return math.exp(float(_kl(p[idx[:, 0]], p[idx[:, 1]]).mean()))


def am_score(probs_ref: torch.Tensor, probs_gen: torch.Tensor) -> float:
    """KL(mean reference p(y) || mean generated p(y)) + mean entropy of p(y|x) of the
    generated clips: low when the label distribution matches and each clip is confident."""
    ref, gen = probs_ref.double(), probs_gen.double()
    entropy = -(gen * torch.log(gen + EPS)).sum(-1).mean()
    return float(_kl(ref.mean(0), gen.mean(0)) + entropy)


def sample_scores(probs_ref: torch.Tensor, features_ref: torch.Tensor, probs_gen: torch.Tensor,
                  features_gen: torch.Tensor) -> dict[str, float]:
    """{"fid", "is", "mis", "am"} of a generated set against the reference statistics."""
    return {"fid": fid(features_ref, features_gen), "is": inception_score(probs_gen),
            "mis": modified_inception_score(probs_gen), "am": am_score(probs_ref, probs_gen)}
