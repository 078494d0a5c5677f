"""Shared machinery: timing, configuration, optional peers, result records and table formatting."""

from __future__ import annotations

import dataclasses
import gc
import importlib
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

# ----------------------------------------------------------------------------- configuration


@dataclasses.dataclass
class Config:
    size: str = "full"  # "full", "quick" (≈ 1 minute) or "tiny" (smoke test of the runner: seconds)
    budget: float = 0.4  # seconds of timed calls per measurement (after warm-up)
    min_repeats: int = 5  # samples per measurement, unless one call alone exceeds the budget
    max_repeats: int = 31
    seed: int = 0
    peers: tuple = ("numpy", "autograd", "torch", "jax")
    verbose: bool = True

    @classmethod
    def make(cls, size: str = "full", peers=None, budget_scale: float = 1.0) -> Config:
        cfg = cls(size=size)
        if size == "quick":
            cfg.budget, cfg.min_repeats, cfg.max_repeats = 0.04, 3, 9
        elif size == "tiny":
            cfg.budget, cfg.min_repeats, cfg.max_repeats = 0.002, 1, 3
        cfg.budget *= budget_scale
        if peers is not None:
            cfg.peers = tuple(peers)
        return cfg

    @property
    def quick(self) -> bool:
        return self.size != "full"

    def pick(self, full, quick, tiny):
        """The workload size for this run."""
        return {"full": full, "quick": quick, "tiny": tiny}[self.size]

    def wants(self, peer: str) -> bool:
        return peer in self.peers


# ----------------------------------------------------------------------------- timing


@dataclasses.dataclass
class Timing:
    median: float  # seconds per call
    samples: list  # seconds per call, one per sample
    number: int  # calls per sample

    @property
    def spread(self) -> float:
        """Relative interquartile range of the samples (a noise indicator)."""
        if len(self.samples) < 4:
            return float("nan")
        q = statistics.quantiles(self.samples, n=4)
        return (q[2] - q[0]) / self.median if self.median else float("nan")


def _warm_up(fn: Callable[[], Any], cfg: Config, compiled: bool) -> float:
    """Run fn once or twice (compilation, caches, lazily built tables); return the estimated seconds per call."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first < cfg.budget or compiled:
        t0 = time.perf_counter()
        fn()
        return max(time.perf_counter() - t0, 1e-8)
    return max(first, 1e-8)


def measure_group(fns: dict, cfg: Config, min_sample: float = 2e-3, compiled: bool = False,
                  est: dict | None = None) -> dict:
    """Median seconds per call of each fn in `fns` ({name: fn}), warm-up excluded, sampled interleaved.

    Two warm-up calls per function are run first (one if a single call exceeds the budget;
    always two when `compiled`, i.e. jax.jit, whose first call is compilation). The second
    call's time decides how many calls make one sample (so that a sample lasts at least
    `min_sample`, well above the timer's resolution). Samples are then taken round-robin,
    one per function per round, so that a burst of load from elsewhere on the machine
    hits a function and its derivative alike and their ratio stays meaningful. Rounds
    fill the budget (per function), within [min_repeats, max_repeats]; calls slower than
    the budget get fewer rounds (at least one). `est` ({name: seconds}): warm-up already done.
    """
    if est is None:
        est = {k: _warm_up(fn, cfg, compiled) for k, fn in fns.items()}
    number = {k: max(1, int(min_sample / e)) for k, e in est.items()}
    round_cost = sum(est[k] * number[k] for k in fns)
    rounds = int(cfg.budget * len(fns) / round_cost)
    if round_cost * cfg.min_repeats > 3 * cfg.budget * len(fns):
        rounds = max(1, min(rounds, cfg.min_repeats))
    else:
        rounds = min(max(rounds, cfg.min_repeats), cfg.max_repeats)
    gc.collect()
    gc.freeze()  # what earlier work left alive (peers' modules, caches) is not rescanned by gen-2 collections
    samples: dict = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            n = number[k]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[k].append((time.perf_counter() - t0) / n)
    return {k: Timing(statistics.median(v), v, number[k]) for k, v in samples.items()}


def measure(fn: Callable[[], Any], cfg: Config, min_sample: float = 2e-3, compiled: bool = False) -> Timing:
    """Median seconds per call of fn(), warm-up excluded (see measure_group)."""
    return measure_group({"fn": fn}, cfg, min_sample, compiled)["fn"]


# ----------------------------------------------------------------------------- peers


@dataclasses.dataclass
class Peers:
    """The optional peer frameworks that could be imported, and why the others are absent."""

    autograd: Any = None  # the autograd module
    anp: Any = None  # autograd.numpy
    torch: Any = None
    jax: Any = None
    jnp: Any = None
    notes: dict = dataclasses.field(default_factory=dict)  # name -> why skipped, or version
    versions: dict = dataclasses.field(default_factory=dict)

    def has(self, name: str) -> bool:
        return getattr(self, name) is not None


def load_peers(cfg: Config) -> Peers:
    peers = Peers()
    if cfg.wants("autograd"):
        try:
            peers.autograd = importlib.import_module("autograd")
            peers.anp = importlib.import_module("autograd.numpy")
            peers.versions["autograd"] = _version("autograd")
        except Exception as e:  # noqa: BLE001 - any import failure means "skip this peer"
            peers.notes["autograd"] = f"not importable ({type(e).__name__}: {e})"
    else:
        peers.notes["autograd"] = "not requested"
    if cfg.wants("torch"):
        try:
            torch = importlib.import_module("torch")
            torch.set_num_threads(1)
            try:
                torch.set_num_interop_threads(1)
            except RuntimeError:
                pass
            importlib.import_module("torch.func")
            peers.torch = torch
            peers.versions["torch"] = torch.__version__
        except Exception as e:  # noqa: BLE001
            peers.notes["torch"] = f"not importable ({type(e).__name__}: {e})"
    else:
        peers.notes["torch"] = "not requested"
    if cfg.wants("jax"):
        try:
            jax = importlib.import_module("jax")
            jax.config.update("jax_enable_x64", True)
            jax.config.update("jax_platforms", "cpu")
            peers.jax = jax
            peers.jnp = importlib.import_module("jax.numpy")
            peers.versions["jax"] = jax.__version__
            try:
                peers.versions["jaxlib"] = importlib.import_module("jaxlib").__version__
            except Exception:  # noqa: BLE001
                pass
        except Exception as e:  # noqa: BLE001
            peers.notes["jax"] = f"not importable ({type(e).__name__}: {e})"
    else:
        peers.notes["jax"] = "not requested"
    return peers


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # noqa: BLE001
        return "?"


def attempt(res, name: str, fn: Callable[[], Any]) -> bool:
    """Run a correctness check or set-up step of an optional path; on failure note it and return False."""
    try:
        fn()
        return True
    except Exception as e:  # noqa: BLE001 - an optional path that fails is reported, not fatal
        first = str(e).splitlines()[0] if str(e) else ""
        res.notes.append(f"{name} failed: {type(e).__name__}: {first[:200]}")
        return False


def jax_block(jax, fn):
    """fn wrapped so that timing waits for JAX's asynchronous results."""

    def run():
        return jax.block_until_ready(fn())

    return run


# ----------------------------------------------------------------------------- results


@dataclasses.dataclass
class Target:
    workload: str
    what: str
    goal: str
    measured: float | None  # None: could not be measured (peer missing)
    met: bool | None
    note: str = ""


@dataclasses.dataclass
class WorkloadResult:
    key: str  # "W1"
    title: str
    params: dict
    markdown: str = ""
    targets: list = dataclasses.field(default_factory=list)
    plot: str | None = None  # path of the PNG, if one was written
    data: dict = dataclasses.field(default_factory=dict)  # raw numbers (for the JSON dump)
    notes: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0  # wall time the workload took to benchmark


class Recorder:
    """Collects timings (framework, case) -> Timing and prints progress."""

    def __init__(self, cfg: Config, key: str):
        self.cfg, self.key = cfg, key
        self.t: dict = {}
        self.wall: dict = {}  # framework -> seconds spent measuring it (warm-ups included)

    def time(self, framework: str, case: str, fn: Callable[[], Any], **kw) -> Timing | None:
        return self.group(framework, {case: fn}, **kw).get(case)

    def group(self, framework: str, fns: dict, **kw) -> dict:
        """Time a framework's cases ({case: fn}) interleaved; a case that raises is recorded as failed."""
        kw.setdefault("compiled", framework.endswith(".jit"))
        ok, est = {}, {}
        t0 = time.perf_counter()
        gc.collect()
        gc.freeze()
        for case, fn in fns.items():  # warm-up, which also catches failures per case
            try:
                est[case] = _warm_up(fn, self.cfg, kw["compiled"])
                ok[case] = fn
            except Exception as e:  # noqa: BLE001 - a failing peer is reported, not fatal
                msg = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                self.t[(framework, case)] = msg
                if self.cfg.verbose:
                    print(f"  [{self.key}] {framework:>12} {case:<24} FAILED {msg[:150]}", flush=True)
        out = measure_group(ok, self.cfg, est=est, **kw) if ok else {}
        spent = time.perf_counter() - t0
        self.wall[framework] = self.wall.get(framework, 0.0) + spent
        for case, tm in out.items():
            self.t[(framework, case)] = tm
            if self.cfg.verbose:
                print(f"  [{self.key}] {framework:>12} {case:<24} {fmt_time(tm.median):>10}"
                      f"  ({len(tm.samples)}x{tm.number})", flush=True)
        if self.cfg.verbose:
            print(f"  [{self.key}] {framework:>12} measured in {spent:.1f} s (warm-up included)", flush=True)
        return out

    def get(self, framework: str, case: str) -> float | None:
        v = self.t.get((framework, case))
        return v.median if isinstance(v, Timing) else None

    def failure(self, framework: str, case: str) -> str | None:
        v = self.t.get((framework, case))
        return v if isinstance(v, str) else None

    def raw(self) -> dict:
        out = {}
        for (fw, case), v in self.t.items():
            out.setdefault(fw, {})[case] = (
                {"median_s": v.median, "samples_s": v.samples, "number": v.number} if isinstance(v, Timing)
                else {"error": v}
            )
        return out


# ----------------------------------------------------------------------------- formatting


def fmt_time(s: float | None) -> str:
    if s is None:
        return "—"
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def fmt_ratio(r: float | None, digits: int = 3) -> str:
    if r is None or not np.isfinite(r):
        return "—"
    if r >= 100:
        return f"{r:.0f}"
    return f"{r:.{digits}g}"


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def md_table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(lines)


def target(workload, what, goal, measured, ok: Callable[[float], bool], note="") -> Target:
    if measured is None:
        return Target(workload, what, goal, None, None, note or "not measured")
    return Target(workload, what, goal, measured, bool(ok(measured)), note)


def rng(cfg: Config, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(cfg.seed + 1000 * salt)


def env_threads() -> dict:
    return {k: os.environ.get(k, "unset") for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def first_call_seconds(fn: Callable[[], Any]) -> float:
    """Wall time of one call (for a jitted function's first call: trace + simplify + compile + run)."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
