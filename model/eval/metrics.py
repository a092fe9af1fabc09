"""Image metrics on [0,1] float images and the simple baselines of the evaluation table.

SSIM is the standard Gaussian-window definition (Wang et al. 2004): window 11x11, sigma 1.5,
K1 0.01, K2 0.03, data range 1, sample covariance (N/(N-1)), mean over the 'valid' region (the window
fully inside the image, i.e. a crop of (11-1)//2 = 5 px on each side) -- the same conventions as
skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=True,
data_range=1), which model/eval/test_metrics.py checks against.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

WIN, SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03


def psnr(x, y, data_range: float = 1.0) -> float:
    x = torch.as_tensor(x, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64)
    mse = torch.mean((x - y) ** 2).item()
    return float("inf") if mse == 0 else 10 * math.log10(data_range ** 2 / mse)


def _gauss(device=None) -> torch.Tensor:
    # skimage truncates the Gaussian at 3.5 sigma -> radius int(3.5*1.5+0.5)=5 -> 11 taps
    r = (WIN - 1) // 2
    t = torch.arange(-r, r + 1, dtype=torch.float64, device=device)
    g = torch.exp(-(t ** 2) / (2 * SIGMA ** 2))
    return g / g.sum()


def ssim(x, y, data_range: float = 1.0) -> float:
    """Mean SSIM of two 2-D images (Gaussian window 11, sigma 1.5, K1 .01, K2 .03)."""
    x = torch.as_tensor(x, dtype=torch.float64)[None, None]
    y = torch.as_tensor(y, dtype=torch.float64)[None, None]
    g = _gauss()
    def filt(im):
        im = F.conv2d(im, g.view(1, 1, -1, 1))
        return F.conv2d(im, g.view(1, 1, 1, -1))
    n = WIN * WIN
    cov_norm = n / (n - 1)
    ux, uy = filt(x), filt(y)
    uxx, uyy, uxy = filt(x * x), filt(y * y), filt(x * y)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    return float(s.mean())


def ssim_loss_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Differentiable SSIM (float32, batch (B,1,H,W)) for training losses; returns mean SSIM."""
    g = _gauss(x.device).to(x.dtype)
    def filt(im):
        im = F.conv2d(im, g.view(1, 1, -1, 1))
        return F.conv2d(im, g.view(1, 1, 1, -1))
    ux, uy = filt(x), filt(y)
    vx = filt(x * x) - ux * ux
    vy = filt(y * y) - uy * uy
    vxy = filt(x * y) - ux * uy
    c1, c2 = K1 ** 2, K2 ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    return s.mean()


# ----------------------------------------------------------------------------- baselines

def bicubic_up(lr: np.ndarray, size: int) -> np.ndarray:
    """Bicubic upsampling (PyTorch/OpenCV convention, a = -0.75, align_corners=False), clamped to [0,1]."""
    t = torch.as_tensor(lr, dtype=torch.float32)[None, None]
    return F.interpolate(t, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)[0, 0].numpy()


def hist_match(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Map src's intensity distribution onto ref's (quantile matching over all pixels)."""
    s = src.ravel()
    order = np.argsort(s, kind="stable")
    q = np.sort(ref.ravel())
    out = np.empty_like(s, dtype=np.float64)
    out[order] = q[np.round(np.linspace(0, len(q) - 1, len(s))).astype(int)]
    return out.reshape(src.shape)


QUANTILES = 1001


def quantile_reference(images: np.ndarray) -> np.ndarray:
    """1001 quantiles (0, 0.1 %, ..., 100 %) of the pooled pixels of the target modality in the training split."""
    return np.quantile(np.asarray(images, dtype=np.float64).ravel(), np.linspace(0, 1, QUANTILES))


def hist_match_to(src: np.ndarray, ref_q: np.ndarray) -> np.ndarray:
    """Histogram matching: pixel of rank k (stable ties) of n -> ref quantile at k/(n-1), linear between quantiles."""
    s = np.asarray(src, dtype=np.float64).ravel()
    order = np.argsort(s, kind="stable")
    q = np.arange(len(s)) / (len(s) - 1)
    out = np.empty_like(s)
    out[order] = np.interp(q, np.linspace(0, 1, len(ref_q)), ref_q)
    return out.reshape(np.shape(src))
