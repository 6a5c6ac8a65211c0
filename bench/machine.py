"""What the machine is and how fast its BLAS is, measured in the benchmark's own process."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time

BLAS_ENV = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def sgemm_gflops(n: int = 2048, repeats: int = 5) -> dict:
    """numpy float32 n×n @ n×n (2·n³ FLOPs), median of `repeats` after one warm-up."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    median = statistics.median(times)
    return {
        "n": n,
        "repeats": repeats,
        "median_s": median,
        "gflops": 2 * n**3 / median / 1e9,
        "all_gflops": [round(2 * n**3 / t / 1e9, 1) for t in times],
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def load_snapshot() -> dict:
    """Load averages and the processes using CPU right now (other than this one)."""
    snap = {"loadavg": list(os.getloadavg())}
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,etimes,args", "--sort=-pcpu"], capture_output=True, text=True, timeout=5
        ).stdout.splitlines()[1:]
        busy = []
        for line in out:
            pid, pcpu, _etimes, args = line.split(None, 3)
            if int(pid) != os.getpid() and float(pcpu) >= 10.0:
                busy.append({"pid": int(pid), "pcpu": float(pcpu), "cmd": args[:100]})
        snap["busy_processes"] = busy[:8]
    except Exception as exc:  # ps missing: not fatal
        snap["busy_processes"] = f"unavailable: {exc}"
    return snap


def describe() -> dict:
    import numpy as np
    import onnxruntime as ort

    info = {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "onnxruntime": ort.__version__,
        "onnxruntime_providers": ort.get_available_providers(),
        "blas_env": {k: os.environ.get(k) for k in BLAS_ENV},
    }
    try:
        from threadpoolctl import threadpool_info

        info["threadpoolctl"] = threadpool_info()
    except ImportError:
        info["threadpoolctl"] = "threadpoolctl not installed (.venv/bin/pip install threadpoolctl)"
    return info
