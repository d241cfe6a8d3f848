#!/usr/bin/env python3
"""Benchmarks of onefichier, each side by side with a baseline in the same run.

Writes BENCHMARKS.md (or, with --smoke, target/bench-smoke.md). Every row is the median of
several runs with min–max, and a ratio taken pair by pair against its baseline. Everything runs
on loopback against the release server with `--limits off`.
"""

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import attack

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
# The binaries measured: release builds; the smoke run (which only checks that every benchmark
# still runs) takes the debug build the tests already made, set by bench/run.
BINARIES = TARGET / os.environ.get("BENCH_PROFILE", "release")
SERVER = BINARIES / "1fichier-server"
CLI = BINARIES / "1fichier"
HARNESS = BINARIES / "onefichier-tls-harness"
MIB = 1 << 20


def machine():
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, {platform.system()} {platform.release()}"


def write_random(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = min(left, 8 * MIB)
            f.write(os.urandom(chunk))
            left -= chunk


class Server:
    """The release server on 127.0.0.1:0 with a fresh data folder and a demo key."""

    def __init__(self, work, log_requests=False, tls_dir=None, limits="off", extra=(), soft_nofile=None,
                 server_env=None, binaries=BINARIES):
        """`tls_dir`: serve HTTPS with the harness's certificate there, as api.1fichier.com.
        `soft_nofile`: start the server under this soft open-file limit (a shell's usual 1,024).
        `server_env`: more environment for the server (a blob store's AWS_* settings).
        `binaries`: the folder of the server and CLI used (another profile's)."""
        self.cli_binary = binaries / "1fichier"
        self.data = Path(tempfile.mkdtemp(dir=work))
        self.log = open(self.data / "server.log", "w")
        env = dict(os.environ, **(server_env or {}))
        env["RUST_LOG"] = "info" if log_requests else "warn"
        tls = []
        if tls_dir:
            tls = ["--tls-cert", tls_dir / "cert.pem", "--tls-key", tls_dir / "key.pem", "--site-host", "1fichier.com"]
        self.proc = subprocess.Popen(
            [binaries / "1fichier-server", "--data", self.data, "serve", "--listen", "127.0.0.1:0", "--limits", limits, "--dev", *tls,
             *map(str, extra)],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env,
            preexec_fn=(lambda: resource.setrlimit(
                resource.RLIMIT_NOFILE, (soft_nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
            if soft_nofile else None)
        # The banner: address, API URL, key, and ONEFICHIER_BUDGETS without limits.
        lines = [self.proc.stdout.readline().strip() for _ in range(4 if limits == "off" else 3)]
        self.address = lines[0].split("://", 1)[1]
        self.api = lines[1].split("=", 1)[1]
        self.key = lines[2].split("=", 1)[1]
        home = self.data / "cli"
        self.env = dict(os.environ, ONEFICHIER_API_URL=self.api, ONEFICHIER_API_KEY=self.key,
                        ONEFICHIER_BUDGETS="unlimited", ONEFICHIER_KEYRING="off",
                        ONEFICHIER_CONFIG_DIR=str(home / "config"), ONEFICHIER_STATE_DIR=str(home / "state"))
        if tls_dir:
            self.env["ONEFICHIER_CA_CERT"] = str(tls_dir / "ca.pem")

    def cli(self, *args, check=True):
        return subprocess.run([self.cli_binary, *map(str, args)], env=self.env, check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def json_lines(self, *args):
        out = self.cli("--json", *args).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def requests(self):
        self.log.flush()
        return (self.data / "server.log").read_text().count("request served")

    def peak_rss_kib(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        """User + system time the server has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)


def timed(cmd, env=None):
    return costed(cmd, env)[0]


def costed(cmd, env=None, server=None):
    """Runs a command; returns its wall time, its CPU time (with its children's) and, given a
    server, the CPU time the server spent meanwhile, all in seconds."""
    server_before = server.cpu_seconds() if server else 0.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    server_cpu = server.cpu_seconds() - server_before if server else 0.0
    return wall, cpu, server_cpu


def rss_kib(cmd, env=None):
    """Runs a command under GNU time and returns its peak RSS in KiB."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *map(str, cmd)], env=env, check=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(out.stderr.strip().splitlines()[-1])


def summary(values):
    return statistics.median(values), min(values), max(values)


def mbps(size, seconds):
    return size / seconds / 1e6


def fmt_rate(values):
    med, lo, hi = summary(values)
    return f"{med:.0f} MB/s ({lo:.0f}–{hi:.0f})"


def fmt_ratio(values, target=None):
    med = statistics.median(values)
    mark = ""
    if target is not None:
        mark = " ✓" if med >= target else " ✗"
    return f"{med:.2f}×{mark}"


def direct_url(server, link):
    return server.cli("link", link).stdout.strip()


def curl_upload(server, path, ca=None):
    """The curl command that uploads `path` to a fresh upload id (over HTTPS when `ca` is given)."""
    trust = ["--cacert", str(ca)] if ca else []
    scheme = "https" if ca else "http"
    node = json.loads(subprocess.run(
        ["curl", "-s", *trust, "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {server.key}",
         "-d", "{}", f"{server.api}/upload/get_upload_server.cgi"], check=True, capture_output=True, text=True).stdout)
    return ["curl", "-s", *trust, "-o", "/dev/null", "-H", f"Authorization: Bearer {server.key}",
            "-F", f"file[]=@{path}", f"{scheme}://{node['url']}/upload.cgi?id={node['id']}"]


def bench_whirlpool(work, size, runs, rows):
    path = work / "hash.bin"
    write_random(path, size)
    ours, openssl, ratio = [], [], []
    for i in range(runs):
        pair = []
        for tool in (["openssl", "dgst", "-whirlpool", "-provider", "legacy", "-provider", "default", "-r", path],
                     [CLI, "hash", path]):
            pair.append(timed(tool))
        openssl.append(mbps(size, pair[0]))
        ours.append(mbps(size, pair[1]))
        ratio.append(pair[0] / pair[1])
    path.unlink()
    rows.append(("Whirlpool", f"{size // MIB} MiB file", "`1fichier hash`", fmt_rate(ours),
                 "`openssl dgst -whirlpool`", fmt_rate(openssl), fmt_ratio(ratio, 1.0), "≥ 1.0×"))
    return statistics.median(ours)


OPENSSL_WHIRLPOOL = "openssl dgst -whirlpool -provider legacy -provider default -r"

# The Debian packages' profile (scripts/package) and the one it is measured against.
PACKAGING_PROFILES = ("release", "dist")


def stripped_mib(binary, work):
    """The size of `binary` without its symbols (as the packages ship it), in MiB."""
    copy = work / f"{binary.name}.stripped"
    subprocess.run(["strip", "-o", copy, binary], check=True)
    size = copy.stat().st_size
    copy.unlink()
    return size / MIB


def bench_profiles(work, size, hash_size, runs, rows):
    """`dist` beside `release`: stripped sizes, `1fichier hash`, and a verified download (its rate
    and the CLI's CPU time per GiB), each profile's CLI against its own server, the profiles
    alternated within each run. Returns the per-run ratios (dist ÷ release) of hash and download
    rates and the sizes, for the report's sentence."""
    folders = {profile: TARGET / profile for profile in PACKAGING_PROFILES}
    missing = [p for p, folder in folders.items() if not (folder / "1fichier-server").exists()]
    if missing:
        raise SystemExit(f"profiles: no {' or '.join(missing)} build: "
                         "cargo build --locked --bins --profile dist (bench/run does)")
    sizes = {p: (stripped_mib(f / "1fichier", work), stripped_mib(f / "1fichier-server", work))
             for p, f in folders.items()}
    hash_file = work / "profiles-hash.bin"
    write_random(hash_file, hash_size)
    source = work / "profiles-dl.bin"
    write_random(source, size)
    servers = {p: Server(work, binaries=f) for p, f in folders.items()}
    out = work / "profiles-out"
    out.mkdir(exist_ok=True)
    hashed, downloaded, cpu = ({p: [] for p in folders} for _ in range(3))
    try:
        links = {p: server.json_lines("upload", source, "/bench-profiles")[0]["link"]
                 for p, server in servers.items()}
        for _ in range(runs):
            for profile, folder in folders.items():
                hashed[profile].append(mbps(hash_size, timed([folder / "1fichier", "hash", hash_file])))
                wall, client_cpu, _ = costed([folder / "1fichier", "download", "-o", out, links[profile]],
                                             env=servers[profile].env)
                downloaded[profile].append(mbps(size, wall))
                cpu[profile].append(client_cpu * 1024 * MIB / size)
                (out / source.name).unlink()
    finally:
        for server in servers.values():
            server.stop()
        hash_file.unlink()
        source.unlink()
    base = PACKAGING_PROFILES[0]
    ratios = {}
    for profile in folders:
        hash_ratio = [o / b for o, b in zip(hashed[profile], hashed[base])]
        download_ratio = [o / b for o, b in zip(downloaded[profile], downloaded[base])]
        ratios[profile] = (statistics.median(hash_ratio), statistics.median(download_ratio))
        rows.append((f"`{profile}`", f"{sizes[profile][0]:.1f} MiB", f"{sizes[profile][1]:.1f} MiB",
                     fmt_rate(hashed[profile]), fmt_ratio(hash_ratio), fmt_rate(downloaded[profile]),
                     fmt_ratio(download_ratio), f"{statistics.median(cpu[profile]):.2f} s"))
    return sizes, ratios


def cpu_row(what, size, runs):
    """A row of the CPU table: medians of (client, server) CPU seconds, scaled to one GiB."""
    scale = 1024 * MIB / size
    client = statistics.median(c for c, _ in runs) * scale
    server = statistics.median(s for _, s in runs) * scale
    return (what, f"{client:.2f} s", f"{server:.2f} s", f"{client + server:.2f} s")


def bench_download(server, work, size, runs, rows, cpu_rows, hash_rate):
    src = work / "dl-source.bin"
    write_random(src, size)
    link = server.json_lines("upload", src, "/bench-dl")[0]["link"]
    src.unlink()
    out = work / "dl"
    out.mkdir(exist_ok=True)
    dest = out / "dl-source.bin"
    tools = {
        "curl": lambda url: ["curl", "-s", "-o", dest, url],
        # The same guarantee as a verified download, with standard tools: hash while saving.
        "curl | tee | openssl": lambda url: [
            "bash", "-o", "pipefail", "-c",
            f"curl -s '{url}' | tee '{dest}' | {OPENSSL_WHIRLPOOL} >/dev/null"],
        "plain": lambda _: [CLI, "download", "--no-verify", "-o", out, link],
        "verified": lambda _: [CLI, "download", "-o", out, link],
        "segmented": lambda _: [CLI, "download", "--no-verify", "--segments", "4", "-o", out, link],
    }
    seconds = {name: [] for name in tools}
    cpu = {name: [] for name in tools}
    for _ in range(runs):
        url = direct_url(server, link)
        for name, command in tools.items():
            wall, client_cpu, server_cpu = costed(command(url), env=server.env, server=server)
            seconds[name].append(wall)
            cpu[name].append((client_cpu, server_cpu))
            dest.unlink()
    rate = {name: [mbps(size, t) for t in times] for name, times in seconds.items()}

    def ratio(ours, baseline):
        return [b / o for o, b in zip(seconds[ours], baseline)]

    # The baseline for verified downloads: the slower of curl and the hasher alone.
    hash_seconds = size / (hash_rate * 1e6)
    slower = [max(t, hash_seconds) for t in seconds["curl"]]
    label = f"{size // MIB} MiB file"
    curl_rate = fmt_rate(rate["curl"])
    rows.append(("Download, no verification", label, "`1fichier download --no-verify`", fmt_rate(rate["plain"]),
                 "`curl` on the direct URL", curl_rate, fmt_ratio(ratio("plain", seconds["curl"]), 0.9), "≥ 0.9×"))
    rows.append(("Download, 4 segments, no verification", label,
                 "`1fichier download --no-verify --segments 4`", fmt_rate(rate["segmented"]),
                 "`curl` on the direct URL", curl_rate, fmt_ratio(ratio("segmented", seconds["curl"]), 0.9),
                 "≥ 0.9×"))
    rows.append(("Download, verified", label, "`1fichier download`", fmt_rate(rate["verified"]),
                 "slower of curl and `1fichier hash`", f"{min(statistics.median(rate['curl']), hash_rate):.0f} MB/s",
                 fmt_ratio(ratio("verified", slower), 0.9), "≥ 0.9×"))
    rows.append(("Download, verified", label, "`1fichier download`", fmt_rate(rate["verified"]),
                 "`curl | tee FILE | openssl dgst -whirlpool`", fmt_rate(rate["curl | tee | openssl"]),
                 fmt_ratio(ratio("verified", seconds["curl | tee | openssl"])), "(same guarantee)"))
    cpu_rows.append(cpu_row("download: `curl`", size, cpu["curl"]))
    cpu_rows.append(cpu_row("download: `1fichier download --no-verify`", size, cpu["plain"]))
    cpu_rows.append(cpu_row("download: `1fichier download`", size, cpu["verified"]))
    cpu_rows.append(cpu_row("download: `curl | tee | openssl dgst -whirlpool`", size, cpu["curl | tee | openssl"]))
    server.cli("rm", "--yes", link)


def bench_upload(server, work, size, runs, rows, cpu_rows):
    src = work / "ul-source.bin"
    write_random(src, size)
    seconds = {"curl": [], "curl + openssl": [], "ours": []}
    cpu = {name: [] for name in seconds}
    for _ in range(runs):
        # Upload ids are single-use: each command gets its own.
        curl = " ".join(f"'{part}'" for part in map(str, curl_upload(server, src)))
        commands = {
            "curl": curl_upload(server, src),
            # The same guarantee with standard tools: hash the file while curl sends it.
            "curl + openssl": ["bash", "-c", f"{OPENSSL_WHIRLPOOL} '{src}' >/dev/null & {curl} && wait $!"],
            "ours": [CLI, "upload", "--force", src, "/bench-ul"],
        }
        for name, command in commands.items():
            wall, client_cpu, server_cpu = costed(command, env=server.env, server=server)
            seconds[name].append(wall)
            cpu[name].append((client_cpu, server_cpu))
        for entry in json.loads(server.cli("--json", "ls", "/").stdout)["entries"]:
            if entry["type"] == "file":
                server.cli("rm", "--yes", entry["url"])
        server.cli("rmdir", "--recursive", "--yes", "/bench-ul")
    src.unlink()
    rate = {name: [mbps(size, t) for t in times] for name, times in seconds.items()}
    label = f"{size // MIB} MiB file"
    rows.append(("Upload (verified)", label, "`1fichier upload`", fmt_rate(rate["ours"]),
                 "`curl -F file[]=@…` to the node", fmt_rate(rate["curl"]),
                 fmt_ratio([c / o for o, c in zip(seconds["ours"], seconds["curl"])], 0.9), "≥ 0.9×"))
    rows.append(("Upload (verified)", label, "`1fichier upload`", fmt_rate(rate["ours"]),
                 "`curl -F …` while `openssl dgst -whirlpool` hashes the file", fmt_rate(rate["curl + openssl"]),
                 fmt_ratio([c / o for o, c in zip(seconds["ours"], seconds["curl + openssl"])]),
                 "(same guarantee)"))
    cpu_rows.append(cpu_row("upload: `curl -F`", size, cpu["curl"]))
    cpu_rows.append(cpu_row("upload: `1fichier upload`", size, cpu["ours"]))
    cpu_rows.append(cpu_row("upload: `curl -F` + `openssl dgst -whirlpool`", size, cpu["curl + openssl"]))


def bench_memory(work, sizes, concurrent, runs, mem_rows):
    """Peak RSS per transfer size: medians of `runs` transfers each way (one peak is one sample of
    the allocator's behaviour, which varies by a few MiB from run to run)."""
    results = {}
    for size in sizes:
        server = Server(work)
        src = work / "mem.bin"
        write_random(src, size)
        out = work / "mem-out"
        ups, downs = [], []
        for _ in range(runs):
            ups.append(rss_kib([CLI, "upload", "--force", src, "/mem"], env=server.env))
            link = json.loads(server.cli("--json", "ls", "/mem").stdout)["entries"][0]["url"]
            out.mkdir(exist_ok=True)
            downs.append(rss_kib([CLI, "download", "-o", out, link], env=server.env))
            shutil.rmtree(out)
            server.cli("rmdir", "--recursive", "--yes", "/mem")
        server_peak = server.peak_rss_kib()
        results[size] = (statistics.median(ups), statistics.median(downs), server_peak)
        src.unlink()
        server.stop()
    for size, (up, down, srv) in results.items():
        mem_rows.append((f"{size // MIB} MiB", f"{up / 1024:.1f} MiB", f"{down / 1024:.1f} MiB", f"{srv / 1024:.1f} MiB"))
    small, big = sizes
    growth = max(results[big][i] / results[small][i] for i in range(3))
    # 8 uploads at once on one server.
    server = Server(work)
    src = work / "conc.bin"
    write_random(src, concurrent)
    procs = [subprocess.Popen(curl_upload(server, src)) for _ in range(8)]
    for p in procs:
        p.wait()
    conc = server.peak_rss_kib()
    server.stop()
    src.unlink()
    return growth, conc


class Garage:
    """A single Garage node (S3) on loopback, as the Rust tests start it (test-support's garage.rs)."""

    def __init__(self, work):
        self.dir = Path(tempfile.mkdtemp(dir=work))
        ports = []
        for _ in range(2):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                ports.append(probe.getsockname()[1])
        rpc, s3 = ports
        self.config = self.dir / "garage.toml"
        self.config.write_text(
            f'metadata_dir = "{self.dir / "meta"}"\ndata_dir = "{self.dir / "data"}"\ndb_engine = "sqlite"\n'
            f'replication_factor = 1\nrpc_bind_addr = "127.0.0.1:{rpc}"\nrpc_public_addr = "127.0.0.1:{rpc}"\n'
            f'rpc_secret = "{os.urandom(32).hex()}"\n\n[s3_api]\ns3_region = "garage"\n'
            f'api_bind_addr = "127.0.0.1:{s3}"\nroot_domain = ".s3.garage.localhost"\n')
        self.proc = subprocess.Popen(["garage", "-c", self.config, "server"], stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "garage.log", "w"), env=dict(os.environ, RUST_LOG="warn"))
        for _ in range(100):
            node = subprocess.run(["garage", "-c", self.config, "node", "id", "-q"], capture_output=True, text=True)
            if node.returncode == 0:
                break
            time.sleep(0.1)
        node_id = node.stdout.strip().split("@")[0]
        self.cli("layout", "assign", "-z", "dc1", "-c", "10G", node_id)
        self.cli("layout", "apply", "--version", "1")
        created = self.cli("key", "create", "bench")
        fields = dict(line.split(":", 1) for line in created.splitlines() if ":" in line)
        fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
        self.cli("bucket", "create", "bench")
        self.cli("bucket", "allow", "--read", "--write", "--owner", "bench", "--key", "bench")
        self.env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{s3}", "AWS_REGION": "garage",
                    "AWS_ACCESS_KEY_ID": fields["key id"], "AWS_SECRET_ACCESS_KEY": fields["secret key"]}

    def cli(self, *args):
        return subprocess.run(["garage", "-c", self.config, *map(str, args)], check=True, capture_output=True,
                              text=True, env=dict(os.environ, RUST_LOG="warn")).stdout

    def curl_get(self, key, out="/dev/null"):
        """curl signing its own S3 GET of `key` (or `?query` on the bucket) in the bench bucket."""
        return ["curl", "-s", "-f", "-o", out, "--aws-sigv4", "aws:amz:garage:s3",
                "--user", f"{self.env['AWS_ACCESS_KEY_ID']}:{self.env['AWS_SECRET_ACCESS_KEY']}",
                "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                f"{self.env['AWS_ENDPOINT_URL']}/bench{'' if key.startswith('?') else '/'}{key}"]

    def curl_put(self, path, key):
        """curl signing its own S3 PUT of the file at `path` as `key`."""
        put = self.curl_get(key)
        return [*put[:-1], "-T", str(path), put[-1]]

    def keys(self, prefix):
        # The signature covers the query as sent: the prefix goes percent-encoded.
        query = f"?list-type=2&prefix={urllib.parse.quote(prefix, safe='')}"
        listing = subprocess.run(self.curl_get(query, out="-"), check=True,
                                 capture_output=True, text=True).stdout
        return re.findall(r"<Key>([^<]+)</Key>", listing)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def bench_s3(work, size, runs, rows):
    """The same upload and download with curl, file bytes in the local folder and in Garage (S3) on
    this machine; and the server's peak memory, which must not grow with the file on S3 either."""
    if shutil.which("garage") is None:
        rows.append(("S3 (Garage)", "not run: `garage` is missing (.ci/run builds it)", "", "", "", "", "", ""))
        return
    garage = Garage(work)
    src = work / "s3.bin"
    write_random(src, size)
    seconds, peaks = {}, {}
    try:
        for name, extra, env in (("local folder", (), None), ("S3 (Garage)", ("--blobs", "s3://bench/blobs"), garage.env)):
            server = Server(work, extra=extra, server_env=env)
            try:
                ups, downs, straight = [], [], []
                for _ in range(runs):
                    ups.append(timed(curl_upload(server, src)))
                    link = json.loads(server.cli("--json", "ls", "/").stdout)["entries"][0]["url"]
                    downs.append(timed(["curl", "-s", "-o", "/dev/null", direct_url(server, link)]))
                    if env:
                        # The same bytes straight to and from Garage: what the store itself gives.
                        straight.append((timed(garage.curl_put(src, "straight.bin")),
                                         timed(garage.curl_get(garage.keys("blobs/")[0]))))
                    server.cli("rm", "--yes", link)
                seconds[name] = (ups, downs)
                if straight:
                    seconds["straight"] = straight
                peaks[name] = server.peak_rss_kib()
            finally:
                server.stop()
    finally:
        garage.stop()
        src.unlink()
    label = f"{size // MIB} MiB file, curl"
    local_up, local_down = seconds["local folder"]
    s3_up, s3_down = seconds["S3 (Garage)"]
    rows.append(("Upload", label, "S3 (Garage)", fmt_rate([mbps(size, t) for t in s3_up]), "local folder",
                 fmt_rate([mbps(size, t) for t in local_up]),
                 fmt_ratio([l / o for o, l in zip(s3_up, local_up)], 0.8), "≥ 0.8×"))
    rows.append(("Download", label, "S3 (Garage)", fmt_rate([mbps(size, t) for t in s3_down]), "local folder",
                 fmt_rate([mbps(size, t) for t in local_down]),
                 fmt_ratio([l / o for o, l in zip(s3_down, local_down)], 0.8), "≥ 0.8×"))
    straight_up = [up for up, _ in seconds["straight"]]
    straight_down = [down for _, down in seconds["straight"]]
    rows.append(("Upload", label, "S3 (Garage) through the server", fmt_rate([mbps(size, t) for t in s3_up]),
                 "curl straight to Garage (signed PUT)", fmt_rate([mbps(size, t) for t in straight_up]),
                 fmt_ratio([d / o for o, d in zip(s3_up, straight_up)]), "(the store's own speed)"))
    rows.append(("Download", label, "S3 (Garage) through the server", fmt_rate([mbps(size, t) for t in s3_down]),
                 "curl straight from Garage (signed GET)", fmt_rate([mbps(size, t) for t in straight_down]),
                 fmt_ratio([d / o for o, d in zip(s3_down, straight_down)]), "(the store's own speed)"))
    rows.append(("Server peak RSS", label, "S3 (Garage)", f"{peaks['S3 (Garage)'] / 1024:.1f} MiB", "local folder",
                 f"{peaks['local folder'] / 1024:.1f} MiB", "–", "flat with file size"))


class Postgres:
    """A database of its own on the local PostgreSQL cluster (.ci/run starts it), dropped after."""

    def __init__(self):
        self.name = f"onefichier_bench_{os.getpid()}_{int(time.time())}"
        user = subprocess.run(["id", "-un"], check=True, capture_output=True, text=True).stdout.strip()
        server = f"postgres://{user}@localhost/postgres?host=/var/run/postgresql"
        subprocess.run(["createdb", "--maintenance-db", server, self.name], check=True)
        self.server = server
        self.url = f"postgres://{user}@localhost/{self.name}?host=/var/run/postgresql"

    def drop(self):
        subprocess.run(["dropdb", "--force", "--if-exists", "--maintenance-db", self.server, self.name],
                       check=False, stderr=subprocess.DEVNULL)


def plain_server(work, env, extra=()):
    """A server process without the demo banner (a second or third process of one service)."""
    data = Path(tempfile.mkdtemp(dir=work))
    log = open(data / "server.log", "w")
    proc = subprocess.Popen([SERVER, "--data", data, "serve", "--listen", "127.0.0.1:0", "--limits", "off",
                             *map(str, extra)], stdout=subprocess.PIPE, stderr=log, text=True,
                            env=dict(os.environ, RUST_LOG="warn", **env))
    address = proc.stdout.readline().strip().split("://", 1)[1]
    return proc, address, log


def wrk_post(work, url, key, body, duration, connections=4):
    lua = work / "post-scale.lua"
    lua.write_text(f'wrk.method = "POST"\nwrk.body = \'{body}\'\n'
                   f'wrk.headers["Content-Type"] = "application/json"\n'
                   f'wrk.headers["Authorization"] = "Bearer {key}"\n')
    return wrk(url, lua, duration, connections)


def bench_scale(work, entries, duration, rows, proc_rows):
    """Metadata on PostgreSQL vs SQLite (file/ls of `entries` files, user/info), then 1 and 3
    processes on one PostgreSQL database behind nginx."""
    missing = [tool for tool in ("createdb", "nginx", "wrk") if shutil.which(tool) is None
               and not Path(f"/usr/sbin/{tool}").exists()]
    if missing or subprocess.run(["pg_isready", "-q", "-h", "/var/run/postgresql"]).returncode != 0:
        rows.append(("not run", f"needs PostgreSQL running and {', '.join(missing) or 'its tools'}", "", "", "", ""))
        return
    results = {}
    for backend in ("SQLite", "PostgreSQL"):
        database = Postgres() if backend == "PostgreSQL" else None
        env = {"ONEFICHIER_SERVER_META": database.url} if database else {}
        server = Server(work, server_env=env)
        try:
            folder = json.loads(server.cli("--json", "mkdir", "/listing").stdout)["folder_id"]
            subprocess.run([SERVER, "--data", server.data, "test-file", "add", "--email", "demo@example.com",
                            "--name", "file", "--folder-id", str(folder), "--size", "1234", "--count", str(entries)],
                           check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, **env))
            results[(backend, "file/ls")] = wrk_post(work, f"{server.api}/file/ls.cgi", server.key,
                                                      json.dumps({"folder_id": folder}), duration)
            results[(backend, "user/info")] = wrk_post(work, f"{server.api}/user/info.cgi", server.key, "{}",
                                                        duration)
        finally:
            server.stop()
            if database:
                database.drop()
    for call in ("file/ls", "user/info"):
        base = results[("SQLite", call)][0]
        for backend in ("SQLite", "PostgreSQL"):
            rps, p50, p99 = results[(backend, call)]
            what = f"{call} ({entries} files)" if call == "file/ls" else call
            target = "p99 < 50 ms" if call == "file/ls" and backend == "PostgreSQL" else ""
            mark = (" ✓" if p99 < 50 else " ✗") if target else ""
            rows.append((what, backend, f"{rps:.0f}", f"{p50:.2f} ms", f"{p99:.2f} ms{mark}",
                         f"{rps / base:.2f}×", target))

    # 1 and 3 processes on one database, behind nginx, the same user/info calls.
    database = Postgres()
    prefix = work / "nginx-scale"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    port = 19000 + os.getpid() % 1000
    env = {"ONEFICHIER_SERVER_META": database.url}
    first = Server(work, server_env=env)
    others = []
    try:
        for _ in range(2):
            others.append(plain_server(work, env))
        by_count = {}
        for count in (1, 3):
            upstreams = [first.address] + [address for _, address, _ in others][:count - 1]
            servers = "".join(f"server {u}; " for u in upstreams)
            conf = prefix / f"nginx-{count}.conf"
            conf.write_text(f"""worker_processes 2; daemon off; pid {prefix}/nginx.pid; error_log {prefix}/logs/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; upstream servers {{ {servers} keepalive 32; }}
  server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://servers; proxy_http_version 1.1;
    proxy_set_header Connection ""; proxy_set_header Host $http_host; }} }} }}
""")
            nginx = subprocess.Popen(["nginx", "-c", conf, "-p", prefix], stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            try:
                by_count[count] = wrk_post(work, f"http://127.0.0.1:{port}/v1/user/info.cgi", first.key, "{}",
                                           duration, connections=12)
            finally:
                nginx.terminate()
                nginx.wait()
        for count, (rps, p50, p99) in by_count.items():
            proc_rows.append((f"{count} process{'es' if count > 1 else ''}", "user/info through nginx",
                              f"{rps:.0f}", f"{p50:.2f} ms", f"{p99:.2f} ms", f"{rps / by_count[1][0]:.2f}×"))
    finally:
        for proc, _, log in others:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
        first.stop()
        database.drop()


def wrk(url, lua, duration, connections=4):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", lua, url],
                         check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(name):
        m = re.search(rf"\s{name}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return rps, pct("50"), pct("99")


def bench_api(work, entries, duration, api_rows):
    server = Server(work)
    folder = json.loads(server.cli("--json", "mkdir", "/listing").stdout)["folder_id"]
    subprocess.run([SERVER, "--data", server.data, "test-file", "add", "--email", "demo@example.com",
                    "--name", "file", "--folder-id", str(folder), "--size", "1234", "--count", str(entries)],
                   check=True, stdout=subprocess.DEVNULL)
    body = json.dumps({"folder_id": folder})
    sample = subprocess.run(["curl", "-s", "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {server.key}",
                             "-d", body, f"{server.api}/file/ls.cgi"], check=True, capture_output=True).stdout
    lua = work / "post.lua"
    lua.write_text(f'wrk.method = "POST"\nwrk.body = \'{body}\'\n'
                   f'wrk.headers["Content-Type"] = "application/json"\n'
                   f'wrk.headers["Authorization"] = "Bearer {server.key}"\n')
    results = {"file/ls": wrk(f"{server.api}/file/ls.cgi", lua, duration),
               "folder/ls": wrk(f"{server.api}/folder/ls.cgi", lua, duration)}
    server.stop()
    # nginx serving a static document of the same size: the cost of HTTP itself.
    prefix = work / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "list.json").write_bytes(sample)
    port = 18000 + os.getpid() % 1000
    conf = prefix / "nginx.conf"
    conf.write_text(f"""worker_processes 2; daemon off; pid {prefix}/nginx.pid; error_log {prefix}/logs/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; server {{ listen 127.0.0.1:{port}; root {prefix};
  location / {{ default_type application/json; }} }} }}
""")
    nginx = subprocess.Popen(["nginx", "-c", conf, "-p", prefix], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    get = work / "get.lua"
    get.write_text('wrk.method = "GET"\n')
    results["nginx"] = wrk(f"http://127.0.0.1:{port}/list.json", get, duration)
    nginx.terminate()
    nginx.wait()
    for name, (rps, p50, p99) in results.items():
        api_rows.append((name, f"{rps:.0f}", f"{p50:.2f} ms", f"{p99:.2f} ms",
                         f"{rps / results['nginx'][0]:.2f}×" if name != "nginx" else "1.00×"))
    return results["file/ls"][2], len(sample)


def bench_small_files(work, count, rows_small):
    server = Server(work, log_requests=True)
    tree = work / "small"
    for i in range(count):
        folder = tree / f"dir{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i:05d}.bin").write_bytes(os.urandom(4096))
    before = server.requests()
    t_up = timed([CLI, "upload", "-j", "4", tree, "/small"], env=server.env)
    up_calls = server.requests() - before
    before = server.requests()
    out = work / "small-out"
    out.mkdir()
    t_down = timed([CLI, "download", "-j", "4", "/small", out], env=server.env)
    down_calls = server.requests() - before
    before = server.requests()
    t_again = timed([CLI, "upload", "-j", "4", tree, "/small"], env=server.env)
    again_calls = server.requests() - before
    server.stop()
    shutil.rmtree(tree)
    shutil.rmtree(out)
    rows_small.append((f"upload {count} × 4 KiB in 20 folders", f"{t_up:.1f} s", str(up_calls)))
    rows_small.append((f"download them", f"{t_down:.1f} s", str(down_calls)))
    rows_small.append(("upload again, nothing changed (all skipped)", f"{t_again:.1f} s", str(again_calls)))


LIVE_FOLDERS = ["src", "docs", "img", "lib", "test", "data", "conf", "misc", "logs", "web"]


def live_job(root, small, big_size):
    """The job of the live-limits issue, deterministic: `small` files of 1–64 KiB spread over
    10 folders, plus 3 large files."""
    rng = __import__("random").Random(1)
    for i in range(small):
        folder = root / LIVE_FOLDERS[i % len(LIVE_FOLDERS)]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i:04d}.bin").write_bytes(rng.randbytes(rng.randint(1024, 64 * 1024)))
    for i in range(3):
        write_random(root / f"big{i}.bin", big_size)


def live_steps(tool, job, out, remote):
    """The steps of the live-limits job, as a user of `tool` types them: (label, argv)."""
    if tool == "ours":
        return [("first upload", [CLI, "upload", job, remote.rsplit("/", 1)[0] or "/"]),
                (f"`ls -R {remote}`", [CLI, "ls", "-R", remote]),
                (f"download {remote}", [CLI, "download", remote, out]),
                ("upload again, nothing changed", [CLI, "upload", job, remote.rsplit("/", 1)[0] or "/"]),
                (f"`ls {remote}/src`", [CLI, "ls", f"{remote}/src"]),
                (f"`ls {remote}/src` again at once", [CLI, "ls", f"{remote}/src"])]
    target = f":fichier:{remote.strip('/')}"
    return [("first upload", ["copy", job, target]),
            (f"`lsf -R {remote}`", ["lsf", "-R", target]),
            (f"download {remote}", ["copy", target, out]),
            ("upload again, nothing changed", ["copy", job, target]),
            (f"`lsf {remote}/src`", ["lsf", f"{target}/src"]),
            (f"`lsf {remote}/src` again at once", ["lsf", f"{target}/src"])]


def run_live_steps(server, steps, env, rows, limit_seconds=None):
    """Runs each step as a new process; appends (label, wall time, requests, refusals) rows.
    A step still running after `limit_seconds` is stopped and reported as such."""
    log = server.data / "server.log"

    def refusals():
        # The server's log has colour codes around each field.
        text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text())
        return text.count("status=429") + text.count("status=403")

    for label, cmd in steps:
        before, refused_before = server.requests(), refusals()
        start = time.perf_counter()
        try:
            done = subprocess.run(list(map(str, cmd)), env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, timeout=limit_seconds)
            seconds = time.perf_counter() - start
            wall = f"{seconds:.1f} s" if done.returncode == 0 else f"{seconds:.1f} s, failed ({done.returncode})"
        except subprocess.TimeoutExpired:
            wall = f"stopped after {limit_seconds // 60} min"
        rows.append((label, wall, str(server.requests() - before), str(refusals() - refused_before)))
        print(f"  {' | '.join(rows[-1])}", file=sys.stderr, flush=True)


def bench_live(work, small, big_size, rows_live):
    """The job against `--limits 1fichier` with the CLI's default (live) budgets."""
    server = Server(work, log_requests=True, limits="1fichier")
    env = {k: v for k, v in server.env.items() if k != "ONEFICHIER_BUDGETS"}
    job = work / "job"
    live_job(job, small, big_size)
    total = sum(f.stat().st_size for f in job.rglob("*") if f.is_file())
    out = work / "live-out"
    out.mkdir()
    steps = live_steps("ours", job, out, "/job")
    steps[0] = (f"first upload ({small + 3} files, {total / 1e6:.0f} MB)", steps[0][1])
    run_live_steps(server, steps, env, rows_live)
    server.stop()
    shutil.rmtree(job)
    shutil.rmtree(out)


# rclone has the service's addresses built in: it reaches our server only inside a network
# namespace holding nothing but loopback, through a CONNECT proxy, over TLS with a throwaway CA
# (the harness of the interoperability test). Everything in there — curl, 1fichier, rclone —
# speaks HTTPS to the same server, so their numbers compare directly.

def bench_attack(work, smoke):
    """The server under attack, with the limits off and with the live service's limits."""
    attack.raise_own_fd_limit()
    # The full run keeps the server's default timeouts: what a self-hoster gets.
    timeouts = (2, 2) if smoke else (20, 30)
    extra = ["--header-timeout-seconds", timeouts[0], "--body-idle-seconds", timeouts[1]] if smoke else []
    bombs, floods, victims, notes, guessing = [], [], [], [], []
    for limits in ("off", "1fichier"):
        # Started as a shell would start it, with a soft limit of 1,024 open files: the server
        # raises it to the hard limit itself.
        server = Server(work, limits=limits, extra=[*extra, "--signup", "open"], soft_nofile=1024)
        try:
            folder = json.loads(server.cli("--json", "mkdir", "/victim").stdout)["folder_id"]
            if limits == "off":
                bombs = attack.bomb_rows(server, server.api, smoke)
                guessing.append(attack.guessing_row(server, server.api, server.key, folder, 3 if smoke else 10))
                demo_password = (server.data / "demo-password").read_text().strip()
                guessing.append(attack.signup_flood_row(server, "demo@example.com", demo_password,
                                                        3 if smoke else 16))
                guessing.append(attack.lockout_row(server, "demo@example.com", demo_password))
            rows, victim, (fds_before, fds_peak, still_open) = attack.flood_rows(
                server, server.api, server.key, folder, smoke, timeouts)
            floods += [(f"`--limits {limits}`", *r) for r in rows]
            victims.append((f"`--limits {limits}`", *victim))
            notes.append(f"`--limits {limits}` (started with a soft limit of 1,024 open files, "
                         f"{attack.soft_nofile(server.proc.pid)} once running): server file descriptors {fds_before} before, "
                         f"{fds_peak} at the peak; {still_open} attacking sockets still open at the end.")
        finally:
            server.stop()
    return bombs, guessing, floods, victims, notes


def rclone_usable():
    return shutil.which("rclone") and shutil.which("unshare") and os.geteuid() == 0 and HARNESS.exists()


def bench_rclone(work, big, small, runs, mode="transfers"):
    """Runs `rclone_inside` (or, in mode "live", `rclone_live_inside`) in a fresh network
    namespace; returns its measurements."""
    result = work / "rclone.json"
    subprocess.run(["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
                    sys.executable, __file__, "--rclone-inside", str(result), "--rclone-mode", mode,
                    "--big", str(big), "--small", str(small), "--runs", str(runs)],
                   check=True, env=dict(os.environ, BENCH_DIR=str(work)))
    return json.loads(result.read_text())


@contextlib.contextmanager
def harness(prefix, limits="off"):
    """Inside the namespace: a TLS server as the service, the CONNECT proxy, and rclone set up
    for it; yields (work folder, server, rclone) and cleans everything up."""
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BENCH_DIR")))
    subprocess.run([HARNESS, "certs", work], check=True)
    server = Server(work, log_requests=True, tls_dir=work, limits=limits)
    proxy_proc = subprocess.Popen([HARNESS, "proxy", server.address], stdout=subprocess.PIPE, text=True)
    try:
        yield work, server, Rclone(work, server, proxy_proc.stdout.readline().strip(), work / "ca.pem")
    finally:
        proxy_proc.terminate()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


class Rclone:
    def __init__(self, work, server, proxy, ca):
        self.config = work / "rclone.conf"
        self.config.write_text("")
        self.ca = ca
        self.env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy")}
        self.env.update(HTTPS_PROXY=f"http://{proxy}", RCLONE_FICHIER_API_KEY=server.key)

    def cmd(self, *args):
        return ["rclone", "--config", self.config, "--ca-cert", self.ca, "--retries", "1", *map(str, args)]


def rclone_inside(result, big, small, runs):
    out = {"upload": {"curl": [], "ours": [], "rclone": []}, "download": {"curl": [], "ours": [], "rclone": []}}
    with harness("rclone-") as (work, server, rclone):
        ca = work / "ca.pem"
        src = work / "big.bin"
        write_random(src, big)
        for _ in range(runs):
            out["upload"]["curl"].append(mbps(big, timed(curl_upload(server, src, ca))))
            out["upload"]["ours"].append(mbps(big, timed([CLI, "upload", "--force", src, "/ul-ours"], env=server.env)))
            out["upload"]["rclone"].append(mbps(big, timed(rclone.cmd("copyto", src, ":fichier:ul-rclone/big.bin"),
                                                           env=rclone.env)))
            server.cli("rmdir", "--recursive", "--yes", "/ul-ours")
            server.cli("rmdir", "--recursive", "--yes", "/ul-rclone")
            for entry in json.loads(server.cli("--json", "ls", "/").stdout)["entries"]:
                if entry["type"] == "file":
                    server.cli("rm", "--yes", entry["url"])
        link = server.json_lines("upload", src, "/dl")[0]["link"]
        src.unlink()
        dest_dir = work / "dl-out"
        dest_dir.mkdir()
        dest = dest_dir / "big.bin"
        for _ in range(runs):
            url = direct_url(server, link)
            out["download"]["curl"].append(mbps(big, timed(["curl", "-s", "--cacert", ca, "-o", dest, url])))
            dest.unlink()
            out["download"]["ours"].append(mbps(big, timed([CLI, "download", "--no-verify", "-o", dest_dir, link],
                                                           env=server.env)))
            dest.unlink()
            out["download"]["rclone"].append(mbps(big, timed(rclone.cmd("copy", ":fichier:dl/big.bin", dest_dir),
                                                             env=rclone.env)))
            dest.unlink()
        server.cli("rm", "--yes", link)
        # Many small files: the same tree for both tools, each into its own remote folder.
        tree = work / "small"
        for i in range(small):
            folder = tree / f"dir{i % 20:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"file{i:05d}.bin").write_bytes(os.urandom(4096))
        steps = {
            "ours": [("upload", [CLI, "upload", "-j", "4", tree, "/small-ours"], server.env),
                     ("download", [CLI, "download", "-j", "4", "-o", work / "ours-out", "/small-ours"], server.env),
                     ("again", [CLI, "upload", "-j", "4", tree, "/small-ours"], server.env)],
            "rclone": [("upload", rclone.cmd("copy", "--transfers", "4", tree, ":fichier:small-rclone/small"), rclone.env),
                       ("download", rclone.cmd("copy", "--transfers", "4", ":fichier:small-rclone", work / "rclone-out"),
                        rclone.env),
                       ("again", rclone.cmd("copy", "--transfers", "4", tree, ":fichier:small-rclone/small"), rclone.env)],
        }
        out["small"] = {}
        for tool, commands in steps.items():
            out["small"][tool] = {}
            for step, cmd, env in commands:
                before = server.requests()
                seconds = timed(cmd, env=env)
                out["small"][tool][step] = {"seconds": seconds, "requests": server.requests() - before}
    Path(result).write_text(json.dumps(out))



def rclone_live_inside(result, big, small):
    """The live-limits job for both tools, over HTTPS, against `--limits 1fichier`: ours with
    its default budgets, rclone with its own pacer. A step is stopped after 15 minutes."""
    rows = {"ours": [], "rclone": []}
    with harness("rclone-live-", limits="1fichier") as (work, server, rclone):
        job = work / "job"
        live_job(job, small, big)
        ours_env = {k: v for k, v in server.env.items() if k != "ONEFICHIER_BUDGETS"}
        (work / "out-ours").mkdir()
        run_live_steps(server, live_steps("ours", job, work / "out-ours", "/job"), ours_env, rows["ours"], 900)
        steps = [(label, rclone.cmd(*argv)) for label, argv in
                 live_steps("rclone", job, work / "out-rclone", "/job-rclone")]
        run_live_steps(server, steps, rclone.env, rows["rclone"], 900)
    Path(result).write_text(json.dumps(rows))


def mount_job(root, files, folders, big):
    """The media library of the mount section: `files` files of 1–64 KiB in `folders` folders, a
    120-second x264 video, and one large file."""
    rng = __import__("random").Random(2)
    for i in range(files):
        folder = root / f"show{i % folders:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"e{i:04d}.mkv").write_bytes(rng.randbytes(rng.randint(1024, 64 * 1024)))
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
                    "-t", "120", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", root / "film.mkv"], check=True)
    write_random(root / "big.bin", big)


def api_calls_and_refusals(server):
    """API requests (`/v1/…`) the server answered so far, and the 429 and 403 among all answers."""
    server.log.flush()
    text = re.sub(r"\x1b\[[0-9;]*m", "", (server.data / "server.log").read_text())
    served = [line for line in text.splitlines() if "request served" in line]
    return (sum(1 for line in served if "route=/v1/" in line),
            sum(1 for line in served if "status=429" in line or "status=403" in line))


def mounted(path):
    return any(line.split(" ")[1] == str(path) for line in Path("/proc/mounts").read_text().splitlines())


class Started:
    """A tool's long-running command (a mount, a server) started as a user would, until `stop`."""

    def __init__(self, argv, env, ready, what, timeout):
        self.proc = subprocess.Popen(list(map(str, argv)), env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{argv[0]} {what} did not come up")
            time.sleep(0.1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Mounted(Started):
    """A mount (ours or rclone's); a mount left behind is detached."""

    def __init__(self, argv, env, path):
        self.path = path
        path.mkdir(exist_ok=True)
        super().__init__(argv, env, lambda: mounted(path), "mount", 120)

    def stop(self):
        super().stop()
        if mounted(self.path):
            subprocess.run(["fusermount3", "-u", "-z", self.path], check=False)


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


LITMUS_GROUPS = ("basic", "copymove", "props", "locks", "http")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def litmus_counts(url, work, limit):
    """Debian's litmus, one group at a time (the script stops at the first failing group):
    "passed of run" in all, and whether `limit` seconds ran out before the last group ended."""
    passed = run = 0
    deadline = time.monotonic() + limit
    for group in LITMUS_GROUPS:
        try:
            out = subprocess.run(["litmus", url], env={**os.environ, "TESTS": group}, cwd=work,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 timeout=max(1, deadline - time.monotonic())).stdout
        except subprocess.TimeoutExpired:
            return f"{passed} of {run}, then stopped in group {group} after {limit // 60} minutes"
        found = re.search(rf"summary for `{group}': of (\d+) tests run: (\d+) passed", out)
        if found:
            run, passed = run + int(found[1]), passed + int(found[2])
    return f"{passed} of {run}"


def scan(root):
    """What a media server's library scan does: find, stat, and ffprobe of every file."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        path.stat()
        subprocess.run(["ffprobe", "-loglevel", "quiet", "-show_format", "-show_streams", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def seeks(film):
    """Ten seeks in a video, as a player does: each decodes one frame there."""
    for second in (5, 95, 30, 110, 60, 15, 80, 45, 100, 70):
        subprocess.run(["ffmpeg", "-loglevel", "error", "-ss", str(second), "-i", film,
                        "-frames:v", "1", "-f", "null", "-"], check=True)


def read_whole(path):
    with open(path, "rb") as f:
        while f.read(4 * MIB):
            pass


def find_and_stat(root, expected):
    """`find` of a tree, with every file's size and time (a stat each)."""
    out = subprocess.run(["find", root, "-type", "f", "-printf", "%s %T@\\n"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    found = out.count("\n")
    if found != expected:
        raise SystemExit(f"find saw {found} files of {expected} under {root}")


def small_tree(root, files, folders):
    """`files` files of at most 200 bytes in `folders` folders (what find and stat are measured on)."""
    for i in range(files):
        folder = root / f"d{i % folders:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05d}.txt").write_bytes(b"x" * (i % 200 + 1))


def random_reads(path, count):
    """`count` reads of 64 KiB at random places; their latencies in ms."""
    rng = __import__("random").Random(3)
    size = path.stat().st_size
    times = []
    with open(path, "rb") as f:
        for _ in range(count):
            offset = rng.randrange(0, size - 65536)
            start = time.perf_counter()
            os.pread(f.fileno(), 65536, offset)
            times.append((time.perf_counter() - start) * 1000)
    return times


MOUNT_TEXT = (
    "A media library (files of 1–64 KiB in folders, a 2-minute x264 video, one large file) uploaded to "
    "`/lib`, then mounted by each tool in the interoperability harness, over HTTPS, against `--limits "
    "1fichier`: ours with its default budgets, rclone (Debian's 1.60) with its pacer, full VFS cache. "
    "A scan is what a media server does: find, stat and `ffprobe` of every file. A tree of ten times as "
    "many small files in twice the folders (`/tree`) measures `find` + `stat` alone. Sequential reads pair "
    "a curl of the file's direct URL with a fresh mount reading it whole, empty cache, three times. API "
    "calls are `/v1/` requests (download GETs are not API calls); refusals are 429 and 403 answers; "
    "litmus stops after 10 minutes.")


def rclone_mount_inside(result, files, folders, big):
    """`1fichier mount` beside `rclone mount --vfs-cache-mode full`, over HTTPS against
    `--limits 1fichier`: ours with its default budgets, rclone with its own pacer. Each step
    gives its wall time, the API calls it cost and the refusals it provoked. Besides the media
    library, a tree of ten times as many small files (twice the folders) measures find + stat."""
    rows = {"ours": [], "rclone": []}
    smoke = files < 100
    rounds = 1 if smoke else 3
    tree_files, tree_folders = files * 10, folders * 2
    with harness("rclone-mount-", limits="1fichier") as (work, server, rclone):
        job = work / "lib"
        mount_job(job, files, folders, big)
        small_tree(work / "tree", tree_files, tree_folders)
        # Default budgets, and a state folder of the harness's own: the mounts' start from none.
        ours_env = {k: v for k, v in server.env.items() if k != "ONEFICHIER_BUDGETS"}
        ours_env["ONEFICHIER_STATE_DIR"] = str(work / "state-upload")
        for local in (job, work / "tree"):
            subprocess.run([CLI, "upload", local, "/"], env=ours_env, check=True, stdout=subprocess.DEVNULL)
        def curl_seconds():
            """The baseline: curl on the file's direct URL (a new one: a download token lives
            minutes), through the harness's proxy."""
            link = subprocess.run([CLI, "link", "/lib/big.bin"], env=ours_env, check=True,
                                  stdout=subprocess.PIPE, text=True).stdout.strip()
            start = time.perf_counter()
            done = subprocess.run(["curl", "-sS", "--cacert", rclone.ca, "-o", "/dev/null", "-w", "%{http_code}",
                                   link], env=ours_env, stdout=subprocess.PIPE, text=True)
            if done.stdout != "200":
                raise SystemExit(f"curl: {done.stdout}")
            return time.perf_counter() - start

        tools = {
            "ours": lambda remote, tool: ([CLI, "mount", f"/{remote}", work / f"mnt-{tool}", "--cache-dir",
                                           work / f"cache-{tool}"],
                                          dict(ours_env, ONEFICHIER_STATE_DIR=str(work / f"state-{tool}"))),
            "rclone": lambda remote, tool: (rclone.cmd("mount", f":fichier:{remote}", work / f"mnt-{tool}",
                                                       "--vfs-cache-mode", "full", "--cache-dir",
                                                       work / f"cache-{tool}", "--dir-cache-time", "1h"),
                                            rclone.env),
        }
        curl_runs = []
        for tool, command in tools.items():
            path = work / f"mnt-{tool}"

            def mount(remote="lib", empty_cache=False, cold=False):
                """A mount; `empty_cache` without the blocks read so far, `cold` without them
                and without the directory tree kept on disk (ours; rclone keeps none)."""
                if empty_cache or cold:
                    shutil.rmtree(work / f"cache-{tool}", ignore_errors=True)
                if cold:
                    shutil.rmtree(work / f"state-{tool}", ignore_errors=True)
                return Mounted(*command(remote, tool), path)

            def measured(action):
                calls, refused = api_calls_and_refusals(server)
                start = time.perf_counter()
                value = action()
                seconds = time.perf_counter() - start
                calls_after, refused_after = api_calls_and_refusals(server)
                return value, seconds, calls_after - calls, refused_after - refused

            def step(label, action, shown=None):
                value, seconds, calls, refused = measured(action)
                rows[tool].append((label, shown(value, seconds) if shown else f"{seconds:.1f} s", str(calls),
                                   str(refused)))
                print(f"  {tool}: {' | '.join(rows[tool][-1])}", file=sys.stderr, flush=True)
                return value, seconds

            mounted_now = mount(cold=True)
            step(f"library scan ({files + 2} files, {folders} folders), cold", lambda: scan(path))
            step("the same scan, warm", lambda: scan(path))
            mounted_now.stop()
            mounted_now = mount()
            step("the same scan after a restart", lambda: scan(path))
            step("10 seeks in a 2-minute video", lambda: seeks(path / "film.mkv"))
            mounted_now.stop()
            # Sequential reads: each round curl, then a fresh mount with an empty cache reading
            # the file whole; the ratio is the median of the rounds' pairs.
            speeds, ratios, calls, refused = [], [], 0, 0
            for _ in range(rounds):
                baseline = curl_seconds()
                curl_runs.append(mbps(big, baseline))
                mounted_now = mount(empty_cache=True)
                _, seconds, round_calls, round_refused = measured(lambda: read_whole(path / "big.bin"))
                mounted_now.stop()
                speeds.append(mbps(big, seconds))
                ratios.append(baseline / seconds)
                calls, refused = calls + round_calls, refused + round_refused
            rows[tool].append((f"sequential read of {big // MIB} MiB, empty cache (median of {rounds})",
                               f"{statistics.median(speeds):.0f} MB/s ({statistics.median(ratios):.2f}× curl)",
                               str(calls), str(refused)))
            print(f"  {tool}: {' | '.join(rows[tool][-1])}", file=sys.stderr, flush=True)
            mounted_now = mount(empty_cache=True)

            def percentiles(latencies, _seconds):
                p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1]
                return f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms"

            step("200 random 64 KiB reads, cold cache", lambda: random_reads(path / "big.bin", 200), percentiles)
            mounted_now.stop()
            # find + stat of the small files' tree, cold then after a restart.
            mounted_now = mount("tree", cold=True)
            step(f"find + stat of {tree_files} files in {tree_folders} folders, cold",
                 lambda: find_and_stat(path, tree_files))
            mounted_now.stop()
            mounted_now = mount("tree")
            step("the same find + stat after a restart", lambda: find_and_stat(path, tree_files))
            mounted_now.stop()
            # WebDAV: litmus against each tool's `serve webdav` on an empty folder, writes on.
            port = free_port()
            subprocess.run([CLI, "mkdir", f"/dav-{tool}"], env=ours_env, check=True, stdout=subprocess.DEVNULL)
            served = Started(
                [CLI, "serve", "webdav", f"/dav-{tool}", "--listen", f"127.0.0.1:{port}", "--writes",
                 "--cache-mode", "off"] if tool == "ours"
                else rclone.cmd("serve", "webdav", f":fichier:dav-{tool}", "--addr", f"127.0.0.1:{port}"),
                command("lib", tool)[1], lambda: listening(port), "serve webdav", 60)
            step(f"litmus ({', '.join(LITMUS_GROUPS)}), passed of run",
                 lambda: litmus_counts(f"http://127.0.0.1:{port}/", work, 180 if smoke else 600),
                 lambda counts, seconds: f"{counts} ({seconds:.0f} s)")
            served.stop()
        rows["curl"] = f"{statistics.median(curl_runs):.0f} MB/s (median of {len(curl_runs)} runs)"
    Path(result).write_text(json.dumps(rows))


def sync_tree(root, files, folders):
    """`files` files of 1–64 KiB spread over `folders` folders, deterministic."""
    rng = __import__("random").Random(7)
    for i in range(files):
        folder = root / f"dir{i % folders:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i:05d}.bin").write_bytes(rng.randbytes(rng.randint(1024, 64 * 1024)))


def sync_changes(root, step, count):
    """Changes `count` files of the tree for a step: `modify` rewrites them (same size, new
    bytes), `rename` renames half in place and moves half into another folder."""
    rng = __import__("random").Random(hash(step) & 0xFFFF)
    files = sorted(p for p in root.rglob("*.bin"))
    chosen = rng.sample(files, count)
    for i, path in enumerate(chosen):
        if step == "modify":
            path.write_bytes(rng.randbytes(path.stat().st_size))
        elif i % 2 == 0:
            path.rename(path.with_name(f"renamed-{path.name}"))
        else:
            other = sorted(d for d in root.iterdir() if d.is_dir() and d != path.parent)[0]
            path.rename(other / f"moved-{path.name}")


SYNC_STEPS = [("first sync", None), ("nothing changed", None), ("1 % of files modified", "modify"),
              ("1 % of files renamed or moved", "rename")]


def run_sync_steps(server, tree, tools, count, rows):
    """Runs each step for each tool: `tools` maps a name to (argv, env). Rows: step, then per
    tool wall time, requests, uploads (`upload.cgi` requests) and refusals."""
    log = server.data / "server.log"

    def counts():
        text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text())
        done = [line for line in text.splitlines() if "request served" in line]
        return (len(done), sum("upload.cgi" in line for line in done),
                sum("status=429" in line or "status=403" in line for line in done))

    for label, change in SYNC_STEPS:
        if change:
            sync_changes(tree, change, count)
        row = [label]
        for name, (cmd, env) in tools.items():
            before = counts()
            start = time.perf_counter()
            done = subprocess.run(list(map(str, cmd)), env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, timeout=3600)
            seconds = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(f"{name} sync failed ({done.returncode}):\n{done.stderr[-2000:]}")
            after = counts()
            row += [f"{seconds:.1f} s", str(after[0] - before[0]), str(after[1] - before[1]),
                    str(after[2] - before[2])]
        rows.append(tuple(row))
        print(f"  {' | '.join(row)}", file=sys.stderr, flush=True)


def rclone_sync_inside(result, files, folders):
    """`sync` side by side with `rclone sync`, over HTTPS in the harness, `--limits off`."""
    rows = []
    with harness("rclone-sync-") as (work, server, rclone):
        tree = work / "tree"
        sync_tree(tree, files, folders)
        tools = {"ours": ([CLI, "sync", "--delete", "-j", "4", tree, "/sync-ours"], server.env),
                 "rclone": (rclone.cmd("sync", "--transfers", "4", tree, ":fichier:sync-rclone"), rclone.env)}
        run_sync_steps(server, tree, tools, max(2, files // 100), rows)
    Path(result).write_text(json.dumps(rows))


def bench_sync_live(work, files, folders, rows, restore_rows):
    """`sync` alone under `--limits 1fichier` with the CLI's default budgets, then the tree
    restored on a fresh machine (a state folder of its own)."""
    server = Server(work, log_requests=True, limits="1fichier")
    env = {k: v for k, v in server.env.items() if k != "ONEFICHIER_BUDGETS"}
    tree = work / "sync-tree"
    restored = work / "restored"
    try:
        sync_tree(tree, files, folders)
        run_sync_steps(server, tree, {"ours": ([CLI, "sync", "--delete", tree, "/sync"], env)},
                       max(2, files // 100), rows)
        restore_rows.append(restore_row(server, env, tree, restored))
    finally:
        server.stop()
        shutil.rmtree(tree, ignore_errors=True)
        shutil.rmtree(restored, ignore_errors=True)


def restore_row(server, env, tree, restored):
    """`sync /sync DIR` on a fresh machine: API calls against the issue's budget (files + 2 ×
    folders + 5), wall time against the floor the key's pace sets (a call per 400 ms)."""
    files = sum(1 for f in tree.rglob("*") if f.is_file())
    folders = 1 + sum(1 for f in tree.rglob("*") if f.is_dir())
    fresh = dict(env, ONEFICHIER_STATE_DIR=str(restored.parent / "fresh-machine-state"))
    log = server.data / "server.log"

    def api_calls():
        text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text())
        return sum("request served" in line and "route=/v1/" in line for line in text.splitlines())

    before = api_calls()
    start = time.perf_counter()
    subprocess.run([str(CLI), "sync", "/sync", str(restored)], env=fresh, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=3600)
    seconds = time.perf_counter() - start
    calls = api_calls() - before
    budget = files + 2 * folders + 5
    floor = calls * 0.4
    row = (f"{files} files in {folders} folders", str(calls), f"{budget} {'✓' if calls <= budget else '✗'}",
           f"{seconds:.1f} s", f"{floor:.1f} s", f"{seconds / floor:.2f}× {'✓' if seconds <= 1.2 * floor else '✗'}")
    print(f"  {' | '.join(row)}", file=sys.stderr, flush=True)
    return row


def rclone_tables(measured, big, small):
    rows = []
    for what in ("download", "upload"):
        m = measured[what]
        pairs = lambda a, b: [x / y for x, y in zip(m[a], m[b])]
        rows.append((f"{what.capitalize()}, {big // MIB} MiB file", fmt_rate(m["curl"]), fmt_rate(m["ours"]),
                     fmt_rate(m["rclone"]), fmt_ratio(pairs("ours", "curl")), fmt_ratio(pairs("rclone", "curl")),
                     fmt_ratio(pairs("ours", "rclone"))))
    small_rows = []
    labels = {"upload": f"upload {small} × 4 KiB", "download": "download them",
              "again": "upload again, nothing changed"}
    for step, label in labels.items():
        ours, theirs = measured["small"]["ours"][step], measured["small"]["rclone"][step]
        small_rows.append((label, f"{ours['seconds']:.1f} s", str(ours["requests"]),
                           f"{theirs['seconds']:.1f} s", str(theirs["requests"])))
    return rows, small_rows


SECTIONS = ("whirlpool", "download", "upload", "memory", "api", "small", "live", "rclone", "live-rclone", "mount",
            "sync", "attack", "s3", "scale", "profiles")
# rclone under the live limits takes its steps up to 15 minutes each: only on request.
# The mount section runs rclone's scans under the same limits, and needs FUSE and ffmpeg.
ON_REQUEST = ("live-rclone", "mount")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="small sizes, one round")
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only these sections and print their rows instead of writing the report")
    parser.add_argument("--rclone-inside", help=argparse.SUPPRESS)
    parser.add_argument("--rclone-mode", default="transfers", help=argparse.SUPPRESS)
    parser.add_argument("--big", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--small", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rclone_inside:
        if args.rclone_mode == "live":
            rclone_live_inside(args.rclone_inside, args.big, args.small)
        elif args.rclone_mode == "mount":
            rclone_mount_inside(args.rclone_inside, args.small, args.runs, args.big)
        elif args.rclone_mode == "sync":
            rclone_sync_inside(args.rclone_inside, args.small, args.big)
        else:
            rclone_inside(args.rclone_inside, args.big, args.small, args.runs)
        return
    wanted = set(args.only or [s for s in SECTIONS if s not in ON_REQUEST])
    if args.smoke:
        big, mid, hash_size, runs, entries, duration, small = 16 * MIB, 4 * MIB, 16 * MIB, 1, 200, 2, 20
        rclone_small = 10
        out = TARGET / "bench-smoke.md"
    else:
        big, mid, hash_size, runs, entries, duration, small = 2048 * MIB, 256 * MIB, 1024 * MIB, 3, 5000, 10, 1000
        # rclone's pacer sleeps 400 ms between API calls: 1,000 files would take it half an hour.
        rclone_small = 100
        out = ROOT / "BENCHMARKS.md"
    work = Path(tempfile.mkdtemp(prefix="onefichier-bench-", dir=os.environ.get("BENCH_DIR")))
    rows, cpu_rows, mem_rows, api_rows, small_rows, rclone_rows, rclone_small_rows = [], [], [], [], [], [], []
    rclone_note = "rclone was not run: it needs root (for `unshare -n`), `rclone` and the release harness."
    try:
        hash_rate = None
        if "whirlpool" in wanted or "download" in wanted:
            print("whirlpool…", flush=True)
            hash_rate = bench_whirlpool(work, hash_size, max(runs, 3) if not args.smoke else 1, rows)
        if wanted & {"download", "upload"}:
            server = Server(work)
            try:
                if "download" in wanted:
                    print("download…", flush=True)
                    bench_download(server, work, big, runs, rows, cpu_rows, hash_rate)
                if "upload" in wanted:
                    print("upload…", flush=True)
                    bench_upload(server, work, big, runs, rows, cpu_rows)
            finally:
                server.stop()
        if "memory" in wanted:
            print("memory…", flush=True)
            growth, concurrent = bench_memory(work, (mid, big), mid, runs, mem_rows)
        if "api" in wanted:
            print("api…", flush=True)
            p99, doc_size = bench_api(work, entries, duration, api_rows)
        if "small" in wanted:
            print("small files…", flush=True)
            bench_small_files(work, small, small_rows)
        live_rows = []
        if "live" in wanted:
            print("live limits…", flush=True)
            bench_live(work, 8 if args.smoke else 300, (1 if args.smoke else 50) * MIB, live_rows)
        live_rclone_rows = []
        if "live-rclone" in wanted and rclone_usable():
            print("live limits, side by side with rclone…", flush=True)
            measured = bench_rclone(work, (1 if args.smoke else 50) * MIB, 30 if args.smoke else 300, 1, mode="live")
            live_rclone_rows = [(ours[0], *ours[1:], *theirs[1:])
                                for ours, theirs in zip(measured["ours"], measured["rclone"])]
        mount_rows, mount_curl = [], None
        if "mount" in wanted and rclone_usable():
            print("mount, side by side with rclone mount…", flush=True)
            # In mode "mount", --small is the number of files, --runs that of folders.
            files, folders = (20, 2) if args.smoke else (1000, 50)
            measured = bench_rclone(work, (16 if args.smoke else 2048) * MIB, files, folders, mode="mount")
            mount_curl = measured["curl"]
            mount_rows = [(ours[0], *ours[1:], *theirs[1:])
                          for ours, theirs in zip(measured["ours"], measured["rclone"])]
        sync_rows, sync_live_rows, restore_rows = [], [], []
        # The smoke run's sizes only check that each step runs: paced calls make every file count.
        sync_files, sync_folders = (12, 2) if args.smoke else (300, 10)
        if "sync" in wanted:
            print("sync…", flush=True)
            if rclone_usable():
                # In mode "sync", --small is the number of files and --big that of folders.
                sync_rows = bench_rclone(work, sync_folders, sync_files, 1, mode="sync")
            bench_sync_live(work, sync_files, sync_folders, sync_live_rows, restore_rows)
        attack_bombs, attack_guesses, attack_floods, attack_victims, attack_notes = [], [], [], [], []
        if "attack" in wanted:
            print("attack…", flush=True)
            attack_bombs, attack_guesses, attack_floods, attack_victims, attack_notes = bench_attack(
                work, args.smoke)
        s3_rows = []
        if "s3" in wanted:
            print("s3…", flush=True)
            bench_s3(work, big, runs, s3_rows)
        profile_rows, profile_summary = [], None
        if "profiles" in wanted and args.smoke:
            print("profiles skipped: the smoke run has no optimised builds to compare", flush=True)
        elif "profiles" in wanted:
            print("profiles (dist beside release)…", flush=True)
            profile_summary = bench_profiles(work, big, hash_size, runs, profile_rows)
        scale_rows, process_rows = [], []
        if "scale" in wanted:
            print("scale-out (PostgreSQL, processes)…", flush=True)
            bench_scale(work, entries, duration, scale_rows, process_rows)
        if "rclone" in wanted and rclone_usable():
            print("rclone…", flush=True)
            measured = bench_rclone(work, big, rclone_small, runs)
            rclone_rows, rclone_small_rows = rclone_tables(measured, big, rclone_small)
            rclone_note = ""
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.only:
        for row in (rows + cpu_rows + mem_rows + api_rows + small_rows + rclone_rows + rclone_small_rows
                    + live_rows + live_rclone_rows + mount_rows + [tuple(r) for r in sync_rows] + sync_live_rows + restore_rows
                    + attack_bombs + attack_guesses + attack_floods + attack_victims + s3_rows
                    + scale_rows + process_rows + profile_rows):
            print(" | ".join(map(str, row)))
        for note in attack_notes:
            print(note)
        if mount_curl:
            print(f"curl on the direct URL: {mount_curl}")
        return
    lines = [
        "# Benchmarks",
        "",
        f"Machine: {machine()}. Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"`bench/run{' --smoke' if args.smoke else ''}`. {'Debug' if args.smoke else 'Release'} builds, server on loopback with `--limits off`, "
        "data in a temporary folder on the machine's disk. Rates are MB/s (10⁶ bytes/s): median (min–max) "
        f"of {runs} run(s); ratios are medians of per-run pairs (ours ÷ baseline, higher is better). "
        "This machine is shared and noisy: single runs vary by ±15%.",
        "",
        "## Throughput",
        "",
        "| what | input | ours | rate | baseline | rate | ratio | target |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in rows],
        "",
        "## CPU time per GiB transferred (client and server share this machine's cores)",
        "",
        "Medians of the runs above. A verified transfer hashes every byte once more on the client (and "
        "an upload once on the server, whoever sends it); on a machine whose cores also run the server, "
        "that CPU time is taken from the transfer.",
        "",
        "| transfer | client CPU | server CPU | total |",
        "|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in cpu_rows],
        "",
        "## Memory (peak RSS)",
        "",
        f"Medians of {runs} transfer(s) each way for the CLI; the server's peak over all of them.",
        "",
        "| transfer size | CLI upload | CLI download | server (upload + download) |",
        "|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in mem_rows],
        "",
        f"Largest growth from {mid // MIB} MiB to {big // MIB} MiB: {growth:.2f}× (target ≤ 1.1×). "
        f"Server peak with 8 concurrent {mid // MIB} MiB uploads: {concurrent / 1024:.1f} MiB.",
        "",
        "## API latency under load (wrk, 2 threads, 4 connections, loopback)",
        "",
        f"`file/ls` lists a folder of {entries} files; nginx serves a static JSON document of the same size "
        f"({doc_size} bytes), the cost of HTTP itself.",
        "",
        "| endpoint | requests/s | p50 | p99 | vs nginx |",
        "|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in api_rows],
        "",
        f"`file/ls` p99: {p99:.1f} ms (target < 50 ms) {'✓' if p99 < 50 else '✗'}.",
        "",
        "## Many small files (`1fichier`, 4 parallel transfers, unlimited budgets)",
        "",
        "| operation | wall time | HTTP requests to the server |",
        "|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in small_rows],
        "",
        "## Side by side with rclone (HTTPS, inside the interoperability test's harness)",
        "",
        "rclone (Debian's 1.60) has the service's addresses built in, so it runs in a network namespace "
        "holding only loopback, through a CONNECT proxy, with the server on TLS (throwaway CA). curl and "
        "`1fichier` run in the same place over the same HTTPS, so the three compare directly. Downloads "
        "are unverified for all three (rclone does not check Whirlpool on copy).",
        "",
        *([rclone_note, ""] if rclone_note else []),
        "| what | curl | `1fichier` | rclone | `1fichier` ÷ curl | rclone ÷ curl | `1fichier` ÷ rclone |",
        "|---|---|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in rclone_rows],
        "",
        f"Many small files ({rclone_small} × 4 KiB in 20 folders, 4 transfers at once; rclone's pacer waits "
        "400 ms between API calls, which is why this set is smaller than the one above):",
        "",
        "| operation | `1fichier` time | `1fichier` requests | rclone time | rclone requests |",
        "|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in rclone_small_rows],
        "",
        "## Under the live service's limits (`--limits 1fichier`, the CLI's default budgets)",
        "",
        "The job of the live-limits issue, generated deterministically: 300 files of 1–64 KiB in 10 "
        "folders plus 3 × 50 MB. API calls are every request the server answered (node and "
        "download requests included); 429s are refusals the client should never provoke. "
        "Targets: first upload ≤ 60 s, unchanged re-upload ≤ 10 s, the repeated `ls` ≤ 2 s, zero 429s.",
        "",
        "| step | wall time | requests | 429s |",
        "|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in live_rows],
        "",
        *([
            "The same job side by side with rclone (Debian's 1.60, its own pacer) in the interoperability "
            "harness, over HTTPS, against `--limits 1fichier`; refusals count 429 and 403 answers; a "
            "step still running after 15 minutes is stopped:",
            "",
            "| step | `1fichier` time | requests | refusals | rclone time | requests | refusals |",
            "|---|---|---|---|---|---|---|",
            *[f"| {' | '.join(r)} |" for r in live_rclone_rows],
            "",
        ] if live_rclone_rows else []),
        *([
            "## Mount (`1fichier mount` side by side with `rclone mount --vfs-cache-mode full`)",
            "",
            MOUNT_TEXT,
            "",
            "| step | `1fichier mount` | API calls | refusals | `rclone mount` | API calls | refusals |",
            "|---|---|---|---|---|---|---|",
            *[f"| {' | '.join(r)} |" for r in mount_rows],
            "",
            f"curl on the file's direct URL: {mount_curl}.",
            "",
        ] if mount_rows else []),
        "## Sync (`1fichier sync --delete` side by side with `rclone sync`)",
        "",
        f"{sync_files} files of 1–64 KiB in {sync_folders} folders, then the same tree with nothing changed, "
        "with 1 % of the files rewritten, and with 1 % renamed in place or moved to another folder. "
        "rclone (Debian's 1.60) runs in the interoperability harness over HTTPS, 4 transfers each, "
        "server on `--limits off`. Uploads are `upload.cgi` requests (bytes sent); refusals are 429 and 403 answers. "
        "Targets: nothing changed costs at most one listing per folder, renamed files send no bytes, "
        "10× fewer requests than rclone, zero refusals.",
        "",
        "| step | ours | requests | uploads | refusals | rclone | requests | uploads | refusals |",
        "|---|---|---|---|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in sync_rows],
        "",
        "The same steps with `1fichier sync` alone against `--limits 1fichier`, default (live) budgets:",
        "",
        "| step | time | requests | uploads | refusals |",
        "|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in sync_live_rows],
        "",
        "Restoring that tree on a fresh machine (`1fichier sync /sync DIR` with a state folder of its own), "
        "same server and budgets. Targets: at most files + 2 × folders + 5 API calls, and a wall time within "
        "1.2× of the calls at the key's pace (one per 400 ms). Each folder costs one listing and one token for "
        "its times file (`.1fichier-times.json`), each file one token: no `file/info` per file.",
        "",
        "| tree | API calls | budget | time | calls × 0.4 s | ratio |",
        "|---|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in restore_rows],
        "",
        "## Server under attack (no key needed for any of it)",
        "",
        "Attackers connect from 127.0.0.2–9, the key holder from 127.0.0.1. Baseline: the figures the "
        "hardening issue measured on the build before it (not re-run: that build took gigabytes).",
        "",
        "Multipart bombs on `/upload.cgi` (target: refused in under 1 s, server RSS growth under 20 MiB):",
        "",
        "| bomb | answer | time to refusal | server RSS growth | before | target |",
        "|---|---|---|---|---|---|",
        *[f"| {' | '.join(map(str, r))} |" for r in attack_bombs],
        "",
        "Password guessing on a protected shared folder, as fast as the server answers, while a key "
        "holder lists (before: ~80 guesses/s with no limit, and the API's p50 went from 2 ms to "
        "145 ms since Argon2 ran on the async workers; target: a limit, and p99 < 50 ms for the key holder); "
        "sign-ups from one address (before: 640 posts in 16 s, each hashed, other log-ins slowed from "
        "0.04 s to 1.4–1.8 s; target: at most 30 hashed, every other log-in in, p99 < 200 ms); an "
        "account guessed at from 8 addresses (before: its owner locked out for 15 minutes):",
        "",
        "| attack | answers | meanwhile | target |",
        "|---|---|---|---|",
        *[f"| {' | '.join(map(str, r))} |" for r in attack_guesses],
        "",
        "Held open together: uploads without a key that send 1 KB and stop (valid upload ids, 8 "
        "addresses), connections that send nothing, and heads that drip a header line every 2 s. Before "
        "the fix, the stalled uploads alone made every API call, download and upload answer 503 for as "
        "long as they stalled, and the idle ones were held forever. Target: every attacking socket "
        "closed within the configured timeout:",
        "",
        "| profile | attack | closed by the server | slowest close | timeout | target |",
        "|---|---|---|---|---|---|",
        *[f"| {' | '.join(map(str, r))} |" for r in attack_floods],
        "",
        "Meanwhile, a key holder (target: 0 × 503, p99 < 50 ms):",
        "",
        "| profile | calls | answers | latency | target |",
        "|---|---|---|---|---|",
        *[f"| {' | '.join(map(str, r))} |" for r in attack_victims],
        "",
        *[f"- {n}" for n in attack_notes],
        "",
        "## Scale-out: file bytes in S3",
        "",
        "The same curl upload and download with the server's blobs in its local folder and in a "
        "single Garage node (S3, `--blobs s3://…`) on this machine, and the server's peak memory.",
        "",
        "| what | input | store | rate | baseline | rate | ratio | target |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {' | '.join(map(str, r))} |" for r in s3_rows],
        "",
        "## Scale-out: metadata in PostgreSQL, several processes",
        "",
        f"wrk, {duration} s per row, 4 connections: the same calls with the metadata in SQLite and in "
        "PostgreSQL 15 (local cluster, Unix socket); ratio against SQLite.",
        "",
        "| call | metadata | requests/s | p50 | p99 | ratio | target |",
        "|---|---|---|---|---|---|---|",
        *[f"| {' | '.join(map(str, r))} |" for r in scale_rows],
        "",
        "`user/info` through nginx (keep-alive to the processes, 12 connections) to 1 and to 3 server "
        "processes on one PostgreSQL database; ratio against one process.",
        "",
        "| processes | call | requests/s | p50 | p99 | ratio |",
        "|---|---|---|---|---|---|",
        *[f"| {' | '.join(map(str, r))} |" for r in process_rows],
        "",
        *profiles_report(profile_rows, profile_summary, big),
    ]
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


def profiles_report(rows, summary, size):
    """The report's section on the packages' profile, with a sentence from its numbers."""
    if not summary:
        return []
    sizes, ratios = summary
    release, dist = PACKAGING_PROFILES
    smaller = [1 - d / r for r, d in zip(sizes[release], sizes[dist])]
    hash_ratio, download_ratio = ratios[dist]
    return [
        f"## Packaging profile (`{dist}` beside `{release}`)",
        "",
        f"The Debian packages (`scripts/package`) are built in `{dist}`: `{release}` with thin LTO, one "
        "code-generation unit and no symbols. Sizes are stripped, as packaged; `1fichier hash` on "
        f"the Whirlpool file, a verified `1fichier download` of {size // MIB} MiB from a server of "
        "the same profile, and the CLI's CPU time per GiB of that download; ratios against "
        f"`{release}` run by run.",
        "",
        "| profile | `1fichier` | `1fichier-server` | `1fichier hash` | ratio | verified download | ratio "
        "| CLI CPU per GiB |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {' | '.join(map(str, r))} |" for r in rows],
        "",
        f"`{dist}` makes the CLI {smaller[0]:.0%} and the server {smaller[1]:.0%} smaller; Whirlpool "
        f"runs at {hash_ratio:.2f}× and verified downloads at {download_ratio:.2f}× `{release}`'s speed "
        "(this machine's noise is ±15%).",
        "",
    ]


if __name__ == "__main__":
    main()
