#!/usr/bin/env python3
"""Runs latent's Google Benchmarks and the Python peers, and writes docs/performance.md.

    python3 tools/bench_report.py --build build-bench --out docs/performance.md

Conventions (bench/README.md):
  * every latent benchmark is named  <op>/<dtype>/<n>  (dtype float|double, n elements) and
    reports items_per_second with one item per element;
  * every bench/peers_<area>.py accepts --json and prints a JSON list of rows
    {"op", "dtype", "n", "peer", "ns_per_elem"} for the same op names;
  * bench_floor gives the same-run memory-bandwidth floors floor_read2, floor_read3,
    floor_triad and floor_read1_write1; FLOOR below says which one bounds each op.
  * per-call costs at 64 elements are ops named <op>_call64 (bench/small.bench.cpp, peer
    bench/peers_small.py), reported in ns per call = 64 x ns per element;
  * thread scaling: ops <op>_1t and <op>_2t (bench/threads.bench.cpp, built with OpenMP, wall
    time, repetitions: the fastest is kept);
  * every latent benchmark runs --repetitions times (3 by default, --min-time seconds each) and
    the fastest repetition is kept, as every peer script keeps the fastest of its repeated
    batches of calls (3 or more): the same statistic on both sides.
The report joins them on (op, dtype, n): ours, each peer, the ratio peer/ours, and the
fraction of the floor (floor ns / our ns: 1.0 means running at memory speed). The raw
results are saved in <build>/bench_report.json; `--from-json <that file>` re-renders the
report (e.g. after editing docs/performance_notes.md, which is appended as the "Targets"
section) without measuring again. The peers run under $LATENT_PEER_PYTHON, this interpreter,
or /usr/bin/python3, whichever first imports torch and numpy.
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
    "log_prob": ("floor_read3", "diagonal Gaussian log-density per column (reads x, mu, log_var)"),
    "ddpm_step": ("floor_triad", "DDPM step, epsilon prediction, fresh noise"),
    "ddim_step": ("floor_triad", "DDIM step, eta = 1, fresh noise"),
    "langevin_step": ("floor_triad", "unadjusted Langevin step, fresh noise"),
    "euler_ancestral_step": ("floor_triad", "Euler-ancestral step, fresh noise"),
    "vq_lookup": (None, "nearest-code lookup (per input vector element)"),
}

SIZES_SHOWN = None  # all sizes found


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def peer_python():
    """An interpreter that has torch and numpy: $LATENT_PEER_PYTHON, this one, or Debian's
    /usr/bin/python3 (a pyenv or venv python3 first on PATH often lacks python3-torch)."""
    cands = [os.environ.get("LATENT_PEER_PYTHON"), sys.executable, "/usr/bin/python3"]
    for c in cands:
        if c and os.path.exists(c):
            try:
                run([c, "-c", "import torch, numpy"])
                return c
            except (subprocess.CalledProcessError, OSError):
                continue
    sys.exit("bench_report: no python3 with torch and numpy (install python3-torch python3-numpy "
             "or set LATENT_PEER_PYTHON)")


def load_average():
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


# x86 (vendor, family) -> microarchitecture, where the family alone or with the AVX-512 flag
# tells it; the report prints family and model in any case.
UARCH = {("AuthenticAMD", 23, False): "Zen / Zen 2",
         ("AuthenticAMD", 25, False): "Zen 3, or a Zen 4 whose AVX-512 is not exposed",
         ("AuthenticAMD", 25, True): "Zen 4: 512-bit operations run as two 256-bit halves",
         ("AuthenticAMD", 26, True): "Zen 5"}


def cpu_model():
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                k, _, v = line.partition(":")
                fields[k.strip()] = v.strip()
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or "unknown"
    if "cpu family" not in fields:
        return name
    vendor, family, model = fields.get("vendor_id", ""), int(fields["cpu family"]), int(fields.get("model", "0"))
    avx512 = "avx512f" in fields.get("flags", "").split()
    desc = f"{name} (x86-64 family {family}, model {model}; AVX-512: {'yes' if avx512 else 'no'}"
    uarch = UARCH.get((vendor, family, avx512))
    return desc + (f"; {uarch})" if uarch else ")")


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
    """(op, dtype, n); n = 0 for a benchmark without a size (simd_fma_rate)."""
    m = re.match(r"^([A-Za-z0-9_]+)/(float|double)(?:/(\d+))?(?:_|$|/)", name)
    if not m:
        return None
    return m.group(1), m.group(2), int(m.group(3) or 0)


def run_ours(build, min_time, repetitions, only, wall=None):
    """{(op, dtype, n): ns per element}, the fastest of any repetitions. `wall` (a dict) gets
    {(op, dtype, n): (real ns per call, cpu ns per call)} of every benchmark."""
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
        env = dict(os.environ)
        # On a shared machine spinning OpenMP workers steal the cores they wait for; the
        # threads benchmark sleeps instead (stated in the report).
        env.setdefault("OMP_WAIT_POLICY", "passive")
        # Benchmarks that set their own repetitions (the threads benchmark) keep them.
        out = run([exe, "--benchmark_format=json", f"--benchmark_min_time={min_time}",
                   f"--benchmark_repetitions={repetitions}"], env=env)
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
        for b in json.loads(out)["benchmarks"]:
            if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                continue
            key = parse_name(b["name"])
            ips = b.get("items_per_second")
            if key is None or not ips:
                continue
            v = 1e9 / ips
            rows[key] = min(v, rows.get(key, v))
            if wall is not None:
                f = scale.get(b.get("time_unit", "ns"), 1.0)
                r, c = b["real_time"] * f, b["cpu_time"] * f
                old = wall.get(key)
                wall[key] = (r, c) if old is None or r < old[0] else old
    return rows


def run_peers(only, python):
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
            out = run([python, script, "--json"], env=env)
        except subprocess.CalledProcessError as e:
            print(f"bench_report: {script} failed:\n{e.stderr}", file=sys.stderr)
            continue
        try:
            rows = json.loads(out)
        except ValueError:
            print(f"bench_report: {os.path.basename(script)} --json did not print JSON; skipped "
                  "(see bench/README.md)", file=sys.stderr)
            continue
        for r in rows:
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


TARGET_CALL_NS = 100.0  # issue 9.2: per-call cost at 64 elements


def peer_list(peers, keys):
    """Peers measured for any of keys, torch first, then numpy, then the rest."""
    found = {p for k in keys for p in peers.get(k, {})}
    order = {"torch": 0, "numpy": 1}
    return sorted(found, key=lambda p: (order.get(p, 2), p))


def table(lines, hdr, rows):
    lines.append("| " + " | ".join(hdr) + " |")
    lines.append("|" + "---|" * len(hdr))
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    lines.append("")


def op_sort_key(k):
    return (k[1] != "float", k[2])


def vector_rate_lines(ours):
    """The header line of the machine's measured vector multiply-add rate (simd_fma_rate)."""
    f, d = ours.get(("simd_fma_rate", "float", 0)), ours.get(("simd_fma_rate", "double", 0))
    if not f:
        return []
    line = f"- Vector multiply-add rate (bench_floor simd_fma_rate): {1 / f:.1f} float lanes per ns"
    if d:
        line += f", {1 / d:.1f} double lanes per ns"
    return [line + " (the noise kernels are bound by vector arithmetic; docs/performance_notes.md)"]


def render(data, out_path):
    ours, peers, wall, meta = data["ours"], data["peers"], data["wall"], data["meta"]
    floors = {k: v for k, v in ours.items() if k[0].startswith("floor_")}
    lines = ["# Performance", "",
             "Generated by `./run.sh bench` (tools/bench_report.py) on "
             f"{meta['date']}: latent's Google Benchmarks (bench/*.bench.cpp) and the Python peers "
             "(bench/peers_*.py), measured in the same run, one thread each unless stated. "
             "Conventions: bench/README.md.", "",
             f"- CPU: {meta['cpu']} ({meta['cores']} logical cores)",
             *vector_rate_lines(ours),
             f"- Compiler: {meta['cxx']}; flags: `{meta['flags']}`",
             f"- Eigen {meta['eigen']}; Python {meta['python']}",
             f"- Peers: {meta['peers']}",
             f"- Load average (1/5/15 min) at the start: {meta['load_start']}; at the end: "
             f"{meta['load_end']}",
             "- Times are CPU time per call of the measuring thread (Google Benchmark's CPU "
             "column; process CPU time for the Python peers), so that other work on a shared "
             "machine inflates neither side; the threads section uses wall time. Each side keeps "
             "its fastest repetition (latent: 3 of at least 0.1 s each; the peers: 3 or more batches of calls).", "",
             "Columns: ns per element for latent and each peer; **×** is peer time / latent time "
             "(higher is better for latent); **floor** is the same-run memory-bandwidth floor for the "
             "bytes the op must move (bench/floor.bench.cpp), and **of floor** is floor / latent "
             "(1.0 = running at memory speed). `–`: not measured.", ""]

    # Headline: float, ours vs torch at every size.
    sizes = sorted({k[2] for k in ours if k[0] in OPS})
    lines += ["## Summary (float, ns per element, latent vs eager torch)", ""]
    hdr = ["op"] + [f"{human(n)} {c}" for n in sizes for c in ("latent", "torch", "×")]
    rows = []
    for op in OPS:
        if not any(k[0] == op and k[1] == "float" for k in ours):
            continue
        r = [op]
        for n in sizes:
            v = ours.get((op, "float", n))
            t = peers.get((op, "float", n), {}).get("torch")
            r += [fmt(v), fmt(t), fmt(t / v) if (t and v) else "–"]
        rows.append(r)
    table(lines, hdr, rows)

    for op, (floor, desc) in OPS.items():
        keys = sorted((k for k in ours if k[0] == op), key=op_sort_key)
        if not keys:
            continue
        lines += [f"## {op}", "", desc, ""]
        plist = peer_list(peers, keys)
        hdr = ["dtype", "n", "latent ns/elem"]
        for p in plist:
            hdr += [f"{p} ns/elem", f"× {p}"]
        if floor:
            hdr += [f"floor ns/elem ({floor})", "of floor"]
        rows = []
        for k in keys:
            _, dt, n = k
            v = ours[k]
            r = [dt, human(n), fmt(v)]
            for p in plist:
                pv = peers.get(k, {}).get(p)
                r += [fmt(pv), fmt(pv / v) if pv else "–"]
            if floor:
                fv = floors.get((floor, dt, n))
                r += [fmt(fv), fmt(fv / v) if fv else "–"]
            rows.append(r)
        table(lines, hdr, rows)

    # Per-call cost at 64 elements.
    order = {op: i for i, op in enumerate(list(OPS) + ["fill_randn"])}
    call = sorted((k for k in ours if k[0].endswith("_call64")),
                  key=lambda k: (order.get(k[0][:-len("_call64")], 99), k[0], k[1] != "float"))
    if call:
        lines += ["## Per-call cost at 64 elements", "",
                  "One call on a 64 x 1 batch (bench/small.bench.cpp; peers: bench/peers_small.py), "
                  f"ns per call. Issue 9.2 target: <= {TARGET_CALL_NS:.0f} ns. vq_lookup is one "
                  "64-D vector against K = 512 codes (32K multiply-adds), not an element-wise op.", ""]
        plist = peer_list(peers, call)
        hdr = ["op", "dtype", "latent ns/call"] + [x for p in plist for x in (f"{p} ns/call", f"× {p}")]
        hdr += [f"<= {TARGET_CALL_NS:.0f} ns"]
        rows = []
        for k in call:
            op, dt, n = k
            v = ours[k] * n
            r = [op[:-len("_call64")], dt, fmt(v)]
            for p in plist:
                pv = peers.get(k, {}).get(p)
                r += [fmt(pv * n) if pv else "–", fmt(pv * n / v) if pv else "–"]
            if op.startswith("vq_lookup"):
                r.append("n/a (not element-wise)")
            else:
                r.append("met" if v <= TARGET_CALL_NS else "missed")
            rows.append(r)
        table(lines, hdr, rows)

    # Threads.
    thr = sorted(k for k in ours if re.search(r"_1t$", k[0]))
    if thr:
        lines += ["## Threads (OpenMP) at 16M", "",
                  "bench/threads.bench.cpp, built with OpenMP: `latent::fill_randn` and a fused "
                  "DDPM-like step `latent::assign(out, c1 x + c2 eps + sigma randn_like(x))` with "
                  "`omp_set_num_threads(1)` and `(2)`; results are bit-identical for any thread "
                  "count. **Wall** time per call, fastest of 5 repetitions, run with "
                  f"`OMP_WAIT_POLICY={meta.get('omp_wait_policy', 'passive')}`; speed-up = "
                  "1-thread wall / 2-thread wall. The main thread's CPU time shows how the work "
                  "was split; on a loaded machine the wall-time speed-up is limited by the cores "
                  "other processes leave free (see the load above).", ""]
        hdr = ["op", "dtype", "n", "1 thread ms (wall)", "2 threads ms (wall)", "speed-up",
               "main-thread CPU ms, 1 / 2 threads"]
        rows = []
        for k in thr:
            base = k[0][:-3]
            k2 = (base + "_2t", k[1], k[2])
            w1, w2 = wall.get(k), wall.get(k2)
            if not w1 or not w2:
                continue
            rows.append([base, k[1], human(k[2]), fmt(w1[0] / 1e6), fmt(w2[0] / 1e6),
                         fmt(w1[0] / w2[0]), f"{fmt(w1[1] / 1e6)} / {fmt(w2[1] / 1e6)}"])
        table(lines, hdr, rows)

    # Everything else: helper variants and floors, one row per (op, dtype).
    other = sorted({(k[0], k[1]) for k in ours if k[0] not in OPS and k[2] != 0 and not k[0].endswith("_call64")
                    and not re.search(r"_[12]t$", k[0])}, key=lambda k: (k[0], k[1] != "float"))
    if other:
        osizes = sorted({k[2] for k in ours if (k[0], k[1]) in set(other)})
        lines += ["## Helper variants and floors", "",
                  "Other benchmarks of the same binaries (see each bench/*.bench.cpp header): "
                  "given-noise variants, plain C++ loops with std::normal_distribution, the floors. "
                  "ns per element, latent, then the peers measured for the same op name.", ""]
        rows = []
        for op, dt in other:
            r = [op, dt]
            for n in osizes:
                v = ours.get((op, dt, n))
                cell = fmt(v)
                for p, pv in sorted(peers.get((op, dt, n), {}).items()):
                    cell += f"; {p} {fmt(pv)}"
                r.append(cell)
            rows.append(r)
        table(lines, ["op", "dtype"] + [human(n) for n in osizes], rows)

    svg = os.path.join(os.path.dirname(out_path), "performance.svg")
    svg_plot(ours, peers, svg)
    lines += ["## Plot", "", "![ns per element against size](performance.svg)", ""]
    extra = os.path.join(ROOT, "docs", "performance_notes.md")
    if os.path.exists(extra):
        lines += [open(extra).read()]
    with open(out_path, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    print(f"bench_report: wrote {out_path} and {svg}", file=sys.stderr)


def to_json(data):
    enc = lambda d: [[list(k), v] for k, v in d.items()]
    return json.dumps({"ours": enc(data["ours"]), "peers": enc(data["peers"]),
                       "wall": enc(data["wall"]), "meta": data["meta"]}, indent=0)


def from_json(txt):
    j = json.loads(txt)
    dec = lambda l: {tuple(k): (tuple(v) if isinstance(v, list) else v) for k, v in l}
    return {"ours": dec(j["ours"]), "peers": dec(j["peers"]), "wall": dec(j["wall"]), "meta": j["meta"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "performance.md"))
    ap.add_argument("--min-time", default="0.1", help="seconds per repetition of a benchmark")
    ap.add_argument("--repetitions", default=3, type=int,
                    help="repetitions of every latent benchmark; the fastest is kept")
    ap.add_argument("--only", nargs="*", help="run only executables/scripts whose names contain these")
    ap.add_argument("--from-json", help="re-render the report from the results a previous run saved "
                                        "(<build>/bench_report.json), e.g. after editing "
                                        "docs/performance_notes.md")
    a = ap.parse_args()

    if a.from_json:
        data = from_json(open(a.from_json).read())
        render(data, a.out)
        return

    python = peer_python()
    load_start = load_average()
    wall = {}
    ours = run_ours(a.build, a.min_time, a.repetitions, a.only, wall)
    peers = run_peers(a.only, python)
    cxx, flags = compiler_info(a.build)
    try:
        pv = run([python, "-c", "import torch, numpy; print(torch.__version__, numpy.__version__)"]).split()
        peer_desc = (f"torch {pv[0]} eager, `torch.set_num_threads(1)`; NumPy {pv[1]} "
                     f"(OMP/MKL/OPENBLAS_NUM_THREADS=1; {python})")
    except Exception:
        peer_desc = "unknown"
    meta = {"date": datetime.date.today().isoformat(), "cpu": cpu_model(), "cores": os.cpu_count(),
            "cxx": cxx, "flags": flags, "eigen": eigen_version(),
            "python": platform.python_version(), "peers": peer_desc,
            "load_start": load_start, "load_end": load_average(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "passive")}
    data = {"ours": ours, "peers": peers, "wall": wall, "meta": meta}
    saved = os.path.join(a.build, "bench_report.json")
    with open(saved, "w") as f:
        f.write(to_json(data))
    print(f"bench_report: results saved in {saved}", file=sys.stderr)
    render(data, a.out)


if __name__ == "__main__":
    main()
