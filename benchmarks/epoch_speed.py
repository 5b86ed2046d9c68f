"""Seconds per training epoch: the reference against PyTorch on the CPU, interleaved in one run.

Both train the same 784-512-256-10 ReLU MLP, float32, minibatch SGD with momentum 0.9 and L2,
on the same 50,000 inputs (random data of Fashion-MNIST's shape: speed does not depend on the
values). Epochs alternate between the two so that machine noise hits both alike; the figures are
medians, and the ratio is reference / PyTorch (below 1 means the reference is faster).
A second figure is the fraction of this machine's float32 GEMM peak that a reference epoch reaches,
and a third what the same epoch's matrix products reach alone, through NumPy's BLAS: an epoch
cannot go faster than its products. The last is what PyTorch's products reach alone through its
own BLAS (MKL on x86), in the orientation its autograd uses: where it is higher, PyTorch starts
each epoch that far ahead, whatever the rest of the reference's step costs.

    python benchmarks/epoch_speed.py [--epochs 5] [--batch 64 128 256]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference.model import MLP  # noqa: E402
from reference.optim import SGD  # noqa: E402

SIZES = (784, 512, 256, 10)
N = 50_000
LR, MOMENTUM, REG = 0.01, 0.9, 1e-4


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        return "; ".join(f"{p['internal_api']} {p.get('version')} core={p.get('architecture')} "
                         f"threads={p['num_threads']}" for p in pools)
    except ImportError:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{cfg.get('name')} {cfg.get('version')} (threadpoolctl absent: core type unknown)"


def gemm_peak(dtype=np.float32, n: int = 2048, repeats: int = 7) -> float:
    """Best-of float32 GEMM rate in FLOP/s on square matrices."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    b = a.T.copy()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def epoch_flops(batch: int) -> float:
    """Matmul FLOPs of one epoch: forward, weight gradients, and input gradients above layer 1."""
    per_sample = sum(2 * i * o for i, o in zip(SIZES[:-1], SIZES[1:]))  # forward
    per_sample += per_sample  # weight gradients
    per_sample += sum(2 * i * o for i, o in zip(SIZES[1:-1], SIZES[2:]))  # grads of hidden acts
    return per_sample * N


def reference_epoch(model: MLP, opt: SGD, x, y, batch: int, rng) -> float:
    """One epoch the way ``reference.train`` runs it: batches gathered from a permutation, one
    gradient buffer reused."""
    t = time.perf_counter()
    order = rng.permutation(N)
    grads = model.zeros_like_params()
    for s in range(0, N, batch):
        idx = order[s:s + batch]
        _, grads = model.loss_and_grads(x[idx], y[idx], REG, out=grads)
        opt.step(model.params, grads, LR)
    return time.perf_counter() - t


def matmul_epoch(model: MLP, x, batch: int) -> float:
    """The same epoch's matrix products alone (forward, weight gradients, input gradients above
    the first layer), into preallocated outputs: the ceiling the rest of a step eats into."""
    W = [model.params[f"W{i}"] for i in range(1, model.num_layers + 1)]
    acts = [np.empty((batch, w.shape[1]), np.float32) for w in W]
    back = [np.empty((batch, w.shape[0]), np.float32) for w in W[1:]]
    grads = [np.empty_like(w) for w in W]
    xb = np.ascontiguousarray(x[:batch])
    t = time.perf_counter()
    for _ in range(N // batch):
        inputs = [xb, *acts[:-1]]
        for a, w, out in zip(inputs, W, acts):
            np.matmul(a, w, out=out)
        for i in range(len(W) - 1, -1, -1):
            np.matmul(inputs[i].T, acts[i], out=grads[i])
            if i:
                np.matmul(acts[i], W[i].T, out=back[i - 1])
    return time.perf_counter() - t


def torch_matmul_epoch(torch, x, batch: int) -> float:
    """PyTorch's products for the same epoch, as ``nn.Linear`` and its autograd compute them
    (weights stored ``(out, in)``): ``x @ W.T`` forward, ``g.T @ x`` for the weight gradients,
    ``g @ W`` for the gradients of the hidden activations."""
    W = [torch.randn(o, i) for i, o in zip(SIZES[:-1], SIZES[1:])]
    acts = [torch.empty(batch, w.shape[0]) for w in W]
    back = [torch.empty(batch, w.shape[1]) for w in W[1:]]
    grads = [torch.empty_like(w) for w in W]
    xb = x[:batch].contiguous()
    t = time.perf_counter()
    for _ in range(N // batch):
        inputs = [xb, *acts[:-1]]
        for a, w, out in zip(inputs, W, acts):
            torch.mm(a, w.T, out=out)
        for i in range(len(W) - 1, -1, -1):
            torch.mm(acts[i].T, inputs[i], out=grads[i])
            if i:
                torch.mm(acts[i], W[i], out=back[i - 1])
    return time.perf_counter() - t


def torch_setup():
    import torch
    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=REG)
    return torch, net, opt


def torch_epoch(torch, net, opt, x, y, batch: int, gen) -> float:
    loss_fn = torch.nn.functional.cross_entropy
    t = time.perf_counter()
    order = torch.randperm(N, generator=gen)
    xs, ys = x[order], y[order]
    for s in range(0, N, batch):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xs[s:s + batch]), ys[s:s + batch])
        loss.backward()
        opt.step()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 128, 256])
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((N, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], N)
    try:
        torch, _, _ = torch_setup()
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        torch_note = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        torch = None
        torch_note = "PyTorch not installed: reference figures only"
    peak = gemm_peak()
    print(f"BLAS: {blas_info()}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; {torch_note}")
    print(f"float32 GEMM peak (2048^3, best of 7): {peak / 1e9:.0f} GFLOP/s")
    print(f"model {'-'.join(map(str, SIZES))}, {N} samples/epoch, SGD momentum {MOMENTUM}, "
          f"L2 {REG}; median of {args.epochs} epochs each, interleaved\n")
    print(f"{'batch':>5} {'reference s':>12} {'pytorch s':>10} {'ratio':>6} {'% GEMM peak':>12} "
          f"{'matmuls alone':>14} {'pytorch matmuls alone':>22}")
    for batch in args.batch:
        model = MLP(SIZES[0], SIZES[1:-1], SIZES[-1], "relu", seed=0)
        opt = SGD(MOMENTUM)
        ours, theirs, products, their_products = [], [], [], []
        if torch is not None:
            torch_mod, net, topt = torch_setup()
            gen = torch_mod.Generator().manual_seed(0)
        for _ in range(args.epochs + 1):  # the first epoch of each warms up and is dropped
            ours.append(reference_epoch(model, opt, x, y, batch, rng))
            products.append(matmul_epoch(model, x, batch))
            if torch is not None:
                theirs.append(torch_epoch(torch_mod, net, topt, tx, ty, batch, gen))
                their_products.append(torch_matmul_epoch(torch_mod, tx, batch))
        ref = statistics.median(ours[1:])
        frac = epoch_flops(batch) / ref / peak
        alone = epoch_flops(batch) / statistics.median(products[1:]) / peak
        pt = statistics.median(theirs[1:]) if theirs else None
        pt_alone = (f"{epoch_flops(batch) / statistics.median(their_products[1:]) / peak:>21.0%}"
                    if their_products else f"{'-':>21}")
        print(f"{batch:>5} {ref:>12.3f} " + (f"{pt:>10.3f} {ref / pt:>6.2f} " if pt else
                                             f"{'-':>10} {'-':>6} ")
              + f"{frac:>11.0%} {alone:>13.0%} {pt_alone}")


if __name__ == "__main__":
    main()
