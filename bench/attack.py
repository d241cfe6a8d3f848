"""The server under attack: what an unauthenticated stranger can do to a self-hosted server, and
what a key holder sees meanwhile. Attackers use the source addresses 127.0.0.2–9, the key holder
127.0.0.1, so per-address limits apply as they would on the internet.

Rows: the multipart bombs (time to refusal, server memory growth), then a flood of stalled
uploads, idle connections and slowloris heads held open together, during which a key holder
calls `file/ls` (503s, p50, p99) and every attacking socket is watched until the server closes it.
"""

import http.client
import json
import resource
import select
import selectors
import socket
import statistics
import threading
import time
import urllib.request

ATTACKERS = [f"127.0.0.{i}" for i in range(2, 10)]


def raise_own_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def status_kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def soft_nofile(pid):
    for line in open(f"/proc/{pid}/limits"):
        if line.startswith("Max open files"):
            return line.split()[3]
    return "?"


def open_fds(pid):
    import os
    return len(os.listdir(f"/proc/{pid}/fd"))


def connect(address, source):
    host, port = address.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.connect((host, int(port)))
    return s


def upload_id(api, source):
    """An upload id, asked from `source` (anonymous get_upload_server), waiting out 429s."""
    for _ in range(100):
        conn = http.client.HTTPConnection(api.split("/")[2], source_address=(source, 0), timeout=10)
        conn.request("POST", "/v1/upload/get_upload_server.cgi", body="{}",
                     headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        body = answer.read()
        conn.close()
        if answer.status == 200:
            return json.loads(body)["id"]
        time.sleep(float(answer.getheader("Retry-After") or 1) if answer.status == 429 else 0.5)
    raise SystemExit("no upload id")


def head(address, upload, length=None, chunked=False):
    framing = "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {length}\r\n"
    return (f"POST /upload.cgi?id={upload} HTTP/1.1\r\nHost: {address}\r\n"
            f"Content-Type: multipart/form-data; boundary=BOMB\r\n{framing}\r\n").encode()


def chunk(data):
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def send_until_answered(sock, pieces):
    """Sends pieces until the server answers; returns (status line, seconds from the first byte)."""
    start = time.perf_counter()
    sock.setblocking(True)
    for piece in pieces:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            break
        try:
            sock.sendall(piece)
        except OSError:
            break
    sock.settimeout(30)
    try:
        answer = sock.recv(4096).decode(errors="replace")
    except OSError:
        answer = ""
    return answer.split("\r\n", 1)[0], time.perf_counter() - start


def bomb_rows(server, api, smoke):
    """The two multipart bombs of the issue, each against the server's memory."""
    rows = []
    pid = server.proc.pid
    name_mib = 64 if smoke else 1024
    fields = 2_000 if smoke else 40_000

    def run(label, pieces_of, before_note):
        source = ATTACKERS[0]
        upload = upload_id(api, source)
        rss_before = status_kib(pid, "VmRSS:")
        sock = connect(server.address, source)
        status, seconds = send_until_answered(sock, pieces_of(upload))
        sock.close()
        grew = max(0, status_kib(pid, "VmHWM:") - rss_before)
        rows.append((label, status.split(" ", 1)[1] if " " in status else "no answer",
                     f"{seconds * 1000:.0f} ms", f"{grew / 1024:.1f} MiB", before_note,
                     "✓" if seconds < 1 and grew < 20 * 1024 else "✗"))

    def name_bomb(upload):
        yield head(server.address, upload, chunked=True)
        yield chunk(b'--BOMB\r\nContent-Disposition: form-data; name="file[]"; filename="')
        block = chunk(b"n" * (1 << 20))
        for _ in range(name_mib):
            yield block

    def field_bomb(upload):
        yield head(server.address, upload, chunked=True)
        value = b"v" * (60 * 1024)
        for i in range(fields):
            yield chunk(f'--BOMB\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n'.encode() + value + b"\r\n")

    run(f"file name of {name_mib} MiB in one part", name_bomb, "7.5 GB, 271 s CPU (1 GiB)")
    run(f"{fields:,} text fields of 60 KiB", field_bomb, "2.4 GB kept (40,000)")
    return rows


class Watched:
    """Attacking sockets, each watched until the server closes it."""

    def __init__(self):
        self.opened = {}
        self.closed = {}
        # epoll: thousands of sockets, past select()'s 1,024.
        self.selector = selectors.DefaultSelector()

    def add(self, kind, sock):
        sock.setblocking(False)
        self.opened[sock] = (kind, time.perf_counter())
        self.selector.register(sock, selectors.EVENT_READ)

    def poll(self, timeout=0.2):
        if not self.open_count():
            return
        for key, _ in self.selector.select(timeout):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                self.closed[s] = time.perf_counter()
                self.selector.unregister(s)

    def open_count(self):
        return sum(1 for s in self.opened if s not in self.closed)

    def times(self, kind):
        return [self.closed[s] - t for s, (k, t) in self.opened.items() if k == kind and s in self.closed]

    def count(self, kind):
        return sum(1 for k, _ in self.opened.values() if k == kind)

    def close_all(self):
        self.selector.close()
        for s in self.opened:
            s.close()


def victim_calls(api, key, folder, stop, latencies, statuses):
    host = api.split("/")[2]
    conn = None
    body = json.dumps({"folder_id": folder})
    while not stop.is_set():
        start = time.perf_counter()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, source_address=("127.0.0.1", 0), timeout=10)
            conn.request("POST", "/v1/file/ls.cgi", body=body,
                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
            answer = conn.getresponse()
            answer.read()
            statuses.append(answer.status)
            if answer.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except OSError:
            statuses.append("error")
            conn = None
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(0.35)  # within 3 requests/s per key


def flood_rows(server, api, key, folder, smoke, timeouts):
    """Stalled uploads, idle connections and slowloris heads, all held open together."""
    stalled_n, idle_n, slow_n = (64, 200, 30) if smoke else (512, 2000, 300)
    header_timeout, body_timeout = timeouts
    watched = Watched()
    ids = []
    for i in range(stalled_n):
        ids.append(upload_id(api, ATTACKERS[i % len(ATTACKERS)]))
        # Each address asks at most about 2.5 times a second: within the per-address budget, so
        # the attacker is not flood-locked before the attack starts.
        time.sleep(0.4 / len(ATTACKERS))
    fds_before = open_fds(server.proc.pid)
    stop = threading.Event()
    latencies, statuses = [], []
    victim = threading.Thread(target=victim_calls, args=(api, key, folder, stop, latencies, statuses))
    victim.start()
    refused_at_once = 0
    part = b'--BOMB\r\nContent-Disposition: form-data; name="file[]"; filename="a.bin"\r\n\r\n' + b"x" * 1000
    for i, upload in enumerate(ids):
        s = connect(server.address, ATTACKERS[i % len(ATTACKERS)])
        s.sendall(head(server.address, upload, length=1 << 30) + part)
        watched.add("stalled upload", s)
    for i in range(idle_n):
        watched.add("idle connection", connect(server.address, ATTACKERS[i % len(ATTACKERS)]))
    slow = []
    for i in range(slow_n):
        s = connect(server.address, ATTACKERS[i % len(ATTACKERS)])
        s.sendall(b"POST /v1/file/ls.cgi HTTP/1.1\r\nHost: x\r\n")
        watched.add("slowloris head", s)
        slow.append(s)
    peak_fds = open_fds(server.proc.pid)
    deadline = time.perf_counter() + max(header_timeout, body_timeout) * 2 + 10
    last_drip = 0.0
    while watched.open_count() and time.perf_counter() < deadline:
        watched.poll()
        peak_fds = max(peak_fds, open_fds(server.proc.pid))
        if time.perf_counter() - last_drip > 2:
            last_drip = time.perf_counter()
            for s in slow:
                if s not in watched.closed:
                    try:
                        s.send(b"X-Drip: 1\r\n")
                    except OSError:
                        pass
    stop.set()
    victim.join()
    still_open = watched.open_count()
    watched.close_all()
    rows = []
    for kind, limit in (("stalled upload", body_timeout), ("idle connection", header_timeout),
                        ("slowloris head", header_timeout)):
        times = watched.times(kind)
        refused_at_once += sum(1 for t in times if t < 1)
        worst = max(times) if times else float("nan")
        rows.append((f"{watched.count(kind):,} × {kind}", f"{len(times):,} closed",
                     f"max {worst:.1f} s", f"{limit} s", "✓" if len(times) == watched.count(kind) and worst <= limit + 2 else "✗"))
    unavailable = sum(1 for s in statuses if s == 503 or s == "error")
    ok = sum(1 for s in statuses if s == 200)
    budget = sum(1 for s in statuses if s == 429)
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1] if len(latencies) >= 2 else float("nan")
    refusals = f"{ok} OK, {budget} × 429 (listing budget), {unavailable} × 503/error" if budget else \
        f"{ok} OK, {unavailable} × 503/error"
    victim_row = (f"{len(statuses)} × `file/ls` with a key", refusals,
                  f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                  "✓" if unavailable == 0 and p99 < 50 else "✗")
    return rows, victim_row, (fds_before, peak_fds, still_open)


def guessing_row(server, api, key, folder, seconds):
    """Wrong passwords on a protected shared folder from 8 addresses as fast as they are
    answered, while a key holder lists; before the fix guesses ran at ~80/s unlimited and the
    API's p50 went from 2 ms to 145 ms (Argon2 on the async workers)."""
    import urllib.parse
    share = json.loads(server.cli("--json", "share", "/victim", "--password", "right-password-1").stdout)
    url = share["url"].replace("https://", "http://")
    path = urllib.parse.urlparse(url).path
    host = server.address
    stop = threading.Event()
    counts = {"403": 0, "429": 0, "other": 0}
    lock = threading.Lock()

    def guess(source):
        conn = None
        n = 0
        while not stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, source_address=(source, 0), timeout=10)
                conn.request("POST", path, body=f"json=1&pass=guess{n}",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
                answer = conn.getresponse()
                answer.read()
                key_ = str(answer.status) if answer.status in (403, 429) else "other"
                if answer.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except OSError:
                key_ = "other"
                conn = None
            with lock:
                counts[key_] += 1
            n += 1

    latencies, statuses = [], []
    victim = threading.Thread(target=victim_calls, args=(api, key, folder, stop, latencies, statuses))
    attackers = [threading.Thread(target=guess, args=(a,)) for a in ATTACKERS]
    for t in attackers + [victim]:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in attackers + [victim]:
        t.join()
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1] if len(latencies) >= 2 else float("nan")
    wrong = counts["403"]
    return (f"{sum(counts.values()):,} password guesses in {seconds} s from 8 addresses",
            f"{wrong} checked (wrong), {counts['429']} refused before hashing (429), {counts['other']} other",
            f"key holder's `file/ls`: p50 {p50:.1f} ms, p99 {p99:.1f} ms",
            "✓" if p99 < 50 and wrong <= 10 * len(ATTACKERS) + 30 else "✗")


def _form(host, source, path):
    """A connection from `source`, and the form token and cookie of the page at `path`."""
    import re
    conn = http.client.HTTPConnection(host, source_address=(source, 0), timeout=30)
    conn.request("GET", path)
    answer = conn.getresponse()
    body = answer.read().decode()
    cookie = (answer.getheader("Set-Cookie") or "").split(";")[0]
    token = re.search(r'name="csrf" value="([^"]+)"', body).group(1)
    return conn, cookie, token


def _post(conn, path, fields, cookie):
    import urllib.parse
    conn.request("POST", path, body=urllib.parse.urlencode(fields),
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    answer = conn.getresponse()
    answer.read()
    return answer.status


def signup_flood_row(server, email, password, seconds):
    """Sign-ups from one address as fast as they are answered, while the owner of another
    account logs in from another address every 0.3 s. Before the fix: 640 posts in 16 s, each
    hashed, and every other log-in went from 0.04 s to 1.4–1.8 s."""
    host = server.address
    stop = threading.Event()
    counts = {"200": 0, "429": 0, "other": 0}

    def flood():
        conn, cookie, token = _form(host, ATTACKERS[0], "/signup")
        n = 0
        while not stop.is_set():
            fields = {"csrf": token, "email": f"flood{n}@example.com", "password": "a long enough password"}
            try:
                status = _post(conn, "/signup", fields, cookie)
                key = str(status) if status in (200, 429) else "other"
            except (OSError, http.client.HTTPException):
                key = "other"
                conn = http.client.HTTPConnection(host, source_address=(ATTACKERS[0], 0), timeout=30)
            counts[key] += 1
            n += 1

    latencies, statuses = [], []

    def owner():
        while not stop.is_set():
            conn, cookie, token = _form(host, "127.0.0.1", "/login")
            started = time.monotonic()
            statuses.append(_post(conn, "/login", {"csrf": token, "email": email, "password": password}, cookie))
            latencies.append((time.monotonic() - started) * 1000)
            conn.close()
            time.sleep(0.3)

    threads = [threading.Thread(target=flood), threading.Thread(target=owner)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = max(latencies) if len(latencies) < 100 else sorted(latencies)[int(len(latencies) * 0.99) - 1]
    logged_in = sum(1 for s in statuses if s == 303)
    return (f"{sum(counts.values()):,} sign-up posts in {seconds} s from one address",
            f"{counts['200']} answered (each a hash), {counts['429']} refused before hashing (429), "
            f"{counts['other']} other",
            f"another account's log-ins: {logged_in} of {len(statuses)} in, p50 {p50:.0f} ms, p99 {p99:.0f} ms",
            "✓" if counts["200"] <= 30 and logged_in == len(statuses) and p99 < 200 else "✗")


def lockout_row(server, email, password):
    """30 wrong passwords on one account from 8 addresses, then its owner from an address that
    never failed (before the fix: refused for 15 minutes, whoever asked)."""
    wrong = refused = 0
    for n in range(30):
        conn, cookie, token = _form(server.address, ATTACKERS[n % len(ATTACKERS)], "/login")
        status = _post(conn, "/login", {"csrf": token, "email": email, "password": f"guess {n}"}, cookie)
        wrong += status == 401
        refused += status == 429
        conn.close()
    conn, cookie, token = _form(server.address, "127.0.0.1", "/login")
    status = _post(conn, "/login", {"csrf": token, "email": email, "password": password}, cookie)
    conn.close()
    return (f"30 wrong passwords on one account from 8 addresses, then its owner",
            f"{wrong} wrong (401), {refused} refused (429: an address still locked by an earlier row); "
            f"the owner: {status}" + (" (logged in)" if status == 303 else ""),
            "the account's history says it is under attack",
            "✓" if status == 303 else "✗")
