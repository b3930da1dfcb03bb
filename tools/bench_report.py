#!/usr/bin/env python3
"""Runs latent's Google Benchmarks and the Python peers, and writes docs/performance.md.

    python3 tools/bench_report.py --build build/bench --out docs/performance.md

Conventions (bench/README.md):
  * every latent benchmark is named  <op>/<dtype>/<n>  (dtype float|double, n elements) and
    reports items_per_second with one item per element;
  * every bench/peers_<area>.py accepts --json and prints a JSON list of rows
    {"op", "dtype", "n", "peer", "ns_per_elem"} for the same op names;
  * bench_floor gives the same-run memory-bandwidth floors floor_read2, floor_triad and
    floor_read1_write1; FLOOR below says which one bounds each op.
The report joins them on (op, dtype, n): ours, each peer, the ratio peer/ours, and the
fraction of the floor (floor ns / our ns: 1.0 means running at memory speed).
"""
import argparse
import datetime
import glob
import json
import math
import os
import platform
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Which floor bounds which op (bytes moved per element), and a one-line description.
OPS = {
    "randn": ("floor_read1_write1", "standard normals written to memory"),
    "rand_uniform": ("floor_read1_write1", "uniforms in (0, 1) written to memory"),
    "rsample": ("floor_triad", "z = mu + exp(log_var / 2) eps, fresh eps (fused)"),
    "kl_std_normal": ("floor_read2", "KL(N(mu, exp(log_var)) || N(0, I)) per column"),
    "log_prob": ("floor_read2", "diagonal Gaussian log-density per column"),
    "ddpm_step": ("floor_triad", "DDPM step, epsilon prediction, fresh noise"),
    "ddim_step": ("floor_triad", "DDIM step, eta = 1, fresh noise"),
    "langevin_step": ("floor_triad", "unadjusted Langevin step, fresh noise"),
    "euler_ancestral_step": ("floor_triad", "Euler-ancestral step, fresh noise"),
    "vq_lookup": (None, "nearest-code lookup (per input vector element)"),
}

SIZES_SHOWN = None  # all sizes found


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def eigen_version():
    for base in ["/usr/include/eigen3", "/usr/local/include/eigen3"]:
        p = os.path.join(base, "Eigen/src/Core/util/Macros.h")
        if os.path.exists(p):
            txt = open(p).read()
            v = [re.search(rf"#define EIGEN_{k}_VERSION (\d+)", txt).group(1)
                 for k in ("WORLD", "MAJOR", "MINOR")]
            return ".".join(v)
    return "unknown"


def compiler_info(build):
    cache = os.path.join(build, "CMakeCache.txt")
    cxx, flags = "unknown", ""
    if os.path.exists(cache):
        for line in open(cache):
            if line.startswith("CMAKE_CXX_COMPILER:"):
                cxx = line.split("=", 1)[1].strip()
            if line.startswith("CMAKE_CXX_FLAGS_RELEASE:"):
                flags = line.split("=", 1)[1].strip()
    try:
        ver = run([cxx, "--version"]).splitlines()[0]
    except Exception:
        ver = cxx
    return ver, f"{flags} -O3 -march=native".strip()


def parse_name(name):
    m = re.match(r"^([A-Za-z0-9_]+)/(float|double)/(\d+)", name)
    if not m:
        return None
    return m.group(1), m.group(2), int(m.group(3))


def run_ours(build, min_time, only):
    rows = {}
    exes = sorted(glob.glob(os.path.join(build, "bench", "bench_*")))
    if not exes:
        sys.exit(f"bench_report: no benchmark executables in {build}/bench")
    for exe in exes:
        if not os.access(exe, os.X_OK) or os.path.isdir(exe):
            continue
        if only and not any(o in os.path.basename(exe) for o in only):
            continue
        print(f"bench_report: running {os.path.basename(exe)}", file=sys.stderr, flush=True)
        out = run([exe, "--benchmark_format=json", f"--benchmark_min_time={min_time}"])
        for b in json.loads(out)["benchmarks"]:
            if b.get("run_type") == "aggregate":
                continue
            key = parse_name(b["name"])
            ips = b.get("items_per_second")
            if key is None or not ips:
                continue
            rows[key] = 1e9 / ips
    return rows


def run_peers(only):
    peers = {}
    for script in sorted(glob.glob(os.path.join(ROOT, "bench", "peers_*.py"))):
        if only and not any(o in os.path.basename(script) for o in only):
            continue
        print(f"bench_report: running {os.path.basename(script)}", file=sys.stderr, flush=True)
        env = dict(os.environ)
        # OPENBLAS_CORETYPE/L2_SIZE may be set for old OpenBLAS; they slow current NumPy.
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        try:
            out = run([sys.executable, script, "--json"], env=env)
        except subprocess.CalledProcessError as e:
            print(f"bench_report: {script} failed:\n{e.stderr}", file=sys.stderr)
            continue
        for r in json.loads(out):
            peers.setdefault((r["op"], r["dtype"], int(r["n"])), {})[r["peer"]] = float(r["ns_per_elem"])
    return peers


def human(n):
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    if n >= 1024 and n % 1024 == 0:
        return f"{n >> 10}K"
    return str(n)


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}"


def svg_plot(ours, peers, path):
    """ns per element against size, log-log, one line per (op, impl) for float."""
    series = {}
    for (op, dt, n), v in ours.items():
        if dt == "float" and op in OPS and OPS[op][0] is not None:
            series.setdefault(f"{op} (latent)", []).append((n, v))
    for (op, dt, n), d in peers.items():
        if dt != "float" or op not in OPS or OPS[op][0] is None:
            continue
        for peer, v in d.items():
            if peer == "torch":
                series.setdefault(f"{op} (torch)", []).append((n, v))
    if not series:
        return
    W, H, L, R, T, B = 900, 560, 70, 330, 30, 60
    xs = [n for s in series.values() for n, _ in s]
    ys = [v for s in series.values() for _, v in s if v > 0]
    x0, x1 = math.log10(min(xs)) - 0.1, math.log10(max(xs)) + 0.1
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    X = lambda n: L + (math.log10(n) - x0) / (x1 - x0) * (W - L - R)
    Y = lambda v: H - B - (math.log10(v) - y0) / (y1 - y0) * (H - T - B)
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
              "#17becf", "#7f7f7f", "#bcbd22"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{(W - R + L) / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">ns per element (float, one thread), log-log</text>',
           f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="#444"/>']
    for e in range(int(y0), int(y1) + 1):
        out.append(f'<line x1="{L}" y1="{Y(10 ** e)}" x2="{W - R}" y2="{Y(10 ** e)}" stroke="#ddd"/>'
                   f'<text x="{L - 6}" y="{Y(10 ** e) + 4}" text-anchor="end">{10.0 ** e:g}</text>')
    for n in sorted(set(xs)):
        out.append(f'<text x="{X(n)}" y="{H - B + 16}" text-anchor="middle">{human(n)}</text>')
    out.append(f'<text x="{(W - R + L) / 2}" y="{H - 20}" text-anchor="middle">elements</text>')
    for i, (name, pts) in enumerate(sorted(series.items())):
        c = colors[(i // 2) % len(colors)]
        dash = ' stroke-dasharray="5,4"' if "torch" in name else ""
        pts = sorted(pts)
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.8"{dash} points="' +
                   " ".join(f"{X(n):.1f},{Y(v):.1f}" for n, v in pts) + '"/>')
        ly = T + 14 * i + 10
        out.append(f'<line x1="{W - R + 15}" y1="{ly - 4}" x2="{W - R + 40}" y2="{ly - 4}" stroke="{c}" stroke-width="2"{dash}/>'
                   f'<text x="{W - R + 45}" y="{ly}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "performance.md"))
    ap.add_argument("--min-time", default="0.2")
    ap.add_argument("--only", nargs="*", help="run only executables/scripts whose names contain these")
    a = ap.parse_args()

    ours = run_ours(a.build, a.min_time, a.only)
    peers = run_peers(a.only)
    floors = {k: v for k, v in ours.items() if k[0].startswith("floor_")}
    cxx, flags = compiler_info(a.build)

    lines = ["# Performance", "",
             "Generated by `./run.sh bench` (tools/bench_report.py) on "
             f"{datetime.date.today().isoformat()}: latent's Google Benchmarks and the Python peers, "
             "measured in the same run, one thread each.", "",
             f"- CPU: {cpu_model()} ({os.cpu_count()} logical cores)",
             f"- Compiler: {cxx}; flags: `{flags}`",
             f"- Eigen {eigen_version()}; Python {platform.python_version()}"]
    try:
        import torch  # noqa: F401
        import numpy
        lines.append(f"- Peers: torch {torch.__version__} eager, `torch.set_num_threads(1)`; NumPy {numpy.__version__}")
    except Exception:
        pass
    lines += ["",
              "Columns: ns per element for latent and each peer; **×** is peer time / latent time "
              "(higher is better for latent); **floor** is the same-run memory-bandwidth floor for the "
              "bytes the op must move (bench/floor.bench.cpp), and **of floor** is floor / latent "
              "(1.0 = running at memory speed). `–`: not measured.", ""]
    all_peers = sorted({p for d in peers.values() for p in d})
    for op, (floor, desc) in OPS.items():
        keys = sorted(k for k in ours if k[0] == op)
        if not keys:
            continue
        lines += [f"## {op}", "", desc, ""]
        hdr = "| dtype | n | latent ns/elem | " + " | ".join(f"{p} ns/elem | × {p}" for p in all_peers)
        hdr += " | floor ns/elem | of floor |" if floor else " |"
        lines.append(hdr)
        lines.append("|" + "---|" * (hdr.count("|") - 1))
        for k in sorted(keys, key=lambda k: (k[1] != "float", k[2])):
            _, dt, n = k
            v = ours[k]
            row = f"| {dt} | {human(n)} | {fmt(v)} | "
            for p in all_peers:
                pv = peers.get(k, {}).get(p)
                row += f"{fmt(pv)} | {fmt(pv / v) if pv else '–'} | "
            if floor:
                fv = floors.get((floor, dt, n))
                row += f"{fmt(fv)} | {fmt(fv / v) if fv else '–'} |"
            lines.append(row.rstrip())
        lines.append("")
    svg = os.path.join(os.path.dirname(a.out), "performance.svg")
    svg_plot(ours, peers, svg)
    lines += ["![ns per element against size](performance.svg)", ""]
    extra = os.path.join(ROOT, "docs", "performance_notes.md")
    if os.path.exists(extra):
        lines += [open(extra).read()]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"bench_report: wrote {a.out} and {svg}", file=sys.stderr)


if __name__ == "__main__":
    main()
