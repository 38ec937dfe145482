#!/usr/bin/env python3
"""serve_client.py CASE — one end-to-end case of `ggperf serve` with real
clients (curl, and Python's http.client / raw sockets), run by the serve
Check suite (tests/test_serve.c). Each case starts its own server on
127.0.0.1 on a free port, talks to it only there, stops it with SIGTERM and
requires exit status 0 (so a ThreadSanitizer build's report, exit 66, fails
the case). Exit 0 = pass; otherwise one line says what failed.

Environment: GGPERF_BIN (the binary), GGPERF_GOLDEN (tests/golden).
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.environ.get("GGPERF_BIN", "build/ggperf")
GOLDEN = os.environ.get("GGPERF_GOLDEN", "tests/golden")
MODEL = os.path.join(GOLDEN, "shared-Q4_0.gguf")
# Under a sanitizer everything is slower: give the server time.
SLOW = 10 if os.environ.get("GGPERF_SAN") else 1


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


class Server:
    def __init__(self, *flags):
        self.dir = tempfile.mkdtemp(prefix="ggperf-serve-")
        pf = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "log"), "w+")
        args = [BIN, "serve", "-m", MODEL, "--port", "0", "--port-file", pf, "-t", "2", "--ctx", "256"]
        args += list(flags)
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20 * SLOW
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise Fail("server exited early (%d): %s" % (self.p.returncode, self.output()))
            try:
                with open(pf) as f:
                    self.port = int(f.read())
                return
            except (OSError, ValueError):
                time.sleep(0.02)
        raise Fail("server did not start: " + self.output())

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-2000:]

    def conn(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout * SLOW)

    def stop(self, timeout=30):
        """SIGTERM; the server must drain and exit 0."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Fail("server did not exit within %ds of SIGTERM: %s" % (timeout * SLOW, self.output()))
        check(rc == 0, "server exit status %d: %s" % (rc, self.output()))

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def post(srv, body, raw=False, headers=None):
    c = srv.conn()
    data = body if raw else json.dumps(body)
    c.request("POST", "/v1/completions", body=data, headers=headers or {"Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read().decode("utf-8")
    c.close()
    return r.status, dict(r.getheaders()), text


def get(srv, path):
    c = srv.conn()
    c.request("GET", path)
    r = c.getresponse()
    text = r.read().decode("utf-8")
    c.close()
    return r.status, text


def metric(srv, name):
    _, text = get(srv, "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            if line.split(" ")[0] == name or name.endswith("}"):
                return float(line.split(" ")[-1])
    raise Fail("metric %s missing from /metrics" % name)


def curl(srv, *args):
    out = subprocess.run(["curl", "-s", "-S", "--max-time", str(30 * SLOW)] + list(args),
                         capture_output=True, text=True)
    return out.returncode, out.stdout, out.stderr


def sse_events(resp):
    """Parse a server-sent event stream into the decoded JSON objects, plus
    whether [DONE] ended it."""
    events, done = [], False
    for line in resp.read().decode("utf-8").split("\n"):
        if not line.startswith("data: "):
            continue
        payload = line[6:]
        if payload == "[DONE]":
            done = True
        else:
            events.append(json.loads(payload))
    return events, done


# ---- cases ----

def case_health_curl():
    s = Server()
    try:
        rc, out, err = curl(s, "-w", "\n%{http_code}", "http://127.0.0.1:%d/health" % s.port)
        check(rc == 0, "curl failed: " + err)
        body, code = out.rsplit("\n", 1)
        check(code == "200", "health: HTTP %s" % code)
        h = json.loads(body)
        check(h["status"] == "ok" and h["slots"] == 8, "health body: " + body)
        rc, out, _ = curl(s, "-w", "%{http_code}", "-o", "/dev/null", "http://127.0.0.1:%d/nope" % s.port)
        check(out == "404", "unknown path: HTTP %s" % out)
        rc, out, _ = curl(s, "-w", "%{http_code}", "-o", "/dev/null", "http://127.0.0.1:%d/v1/completions" % s.port)
        check(out == "405", "GET /v1/completions: HTTP %s" % out)
    finally:
        s.stop()


def case_completion():
    s = Server("--slots", "3")
    try:
        st, _, body = post(s, {"prompt": "hello world", "max_tokens": 5, "temperature": 0})
        check(st == 200, "text prompt: HTTP %d %s" % (st, body))
        r = json.loads(body)
        check(r["object"] == "text_completion", body)
        ch = r["choices"][0]
        check(r["usage"]["completion_tokens"] <= 5 and r["usage"]["prompt_tokens"] >= 2, body)
        check(ch["finish_reason"] in ("length", "stop"), body)
        # token ids; same seed and temperature give the same text, at any concurrency
        req = {"prompt": [1, 17, 300, 42], "max_tokens": 8, "temperature": 0.8, "seed": 7}
        st, _, b1 = post(s, req)
        check(st == 200, "token prompt: HTTP %d %s" % (st, b1))
        want = json.loads(b1)["choices"][0]["text"]
        results = []

        def worker():
            results.append(post(s, req))
        ts = [threading.Thread(target=worker) for _ in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for st, _, b in results:
            check(st == 200, "concurrent: HTTP %d %s" % (st, b))
            got = json.loads(b)["choices"][0]["text"]
            check(got == want, "seeded sampling differs under concurrency: %r vs %r" % (got, want))
        # curl as the client too
        rc, out, err = curl(s, "-X", "POST", "-H", "Content-Type: application/json", "-d",
                            json.dumps(req), "http://127.0.0.1:%d/v1/completions" % s.port)
        check(rc == 0 and json.loads(out)["choices"][0]["text"] == want, "curl completion: %s %s" % (out, err))
    finally:
        s.stop()


def case_stream():
    s = Server()
    try:
        c = s.conn()
        c.request("POST", "/v1/completions", body=json.dumps({"prompt": [1, 5, 9], "max_tokens": 6, "stream": True}))
        r = c.getresponse()
        check(r.status == 200, "stream: HTTP %d" % r.status)
        check(r.getheader("Content-Type") == "text/event-stream", "content type %s" % r.getheader("Content-Type"))
        events, done = sse_events(r)
        c.close()
        check(done, "stream did not end with [DONE]")
        texts = [e["choices"][0]["text"] for e in events[:-1]]
        last = events[-1]["choices"][0]
        check(last["finish_reason"] in ("length", "stop"), "final event: %r" % last)
        check(len(texts) <= 6 and (last["finish_reason"] == "stop" or len(texts) == 6), "%d token events" % len(texts))
        # the streamed text equals the non-streamed one (greedy)
        st, _, b = post(s, {"prompt": [1, 5, 9], "max_tokens": 6, "temperature": 0})
        st2 = {"prompt": [1, 5, 9], "max_tokens": 6, "stream": True, "temperature": 0}
        c = s.conn()
        c.request("POST", "/v1/completions", body=json.dumps(st2))
        ev, _ = sse_events(c.getresponse())
        c.close()
        check("".join(e["choices"][0]["text"] for e in ev) == json.loads(b)["choices"][0]["text"],
              "streamed and whole text differ")
        check(metric(s, "ggperf_generated_tokens_total") >= 6, "generated tokens not counted")
        check(metric(s, "ggperf_time_to_first_token_seconds_count") >= 3, "TTFT histogram empty")
    finally:
        s.stop()


def case_bad_input():
    s = Server("--max-body", "4096")
    try:
        st, _, b = post(s, '{"prompt": "x", ', raw=True)
        check(st == 400 and "malformed JSON" in b, "malformed JSON: HTTP %d %s" % (st, b))
        st, _, b = post(s, "[1,2]", raw=True)
        check(st == 400 and "object" in b, "non-object: HTTP %d %s" % (st, b))
        st, _, b = post(s, {"prompt": "x", "max_tokens": "ten"})
        check(st == 400 and "max_tokens" in b, "bad max_tokens: HTTP %d %s" % (st, b))
        st, _, b = post(s, {"max_tokens": 3})
        check(st == 400 and "prompt" in b, "no prompt: HTTP %d %s" % (st, b))
        st, _, b = post(s, {"prompt": [1, 99999]})
        check(st == 400 and "99999" in b, "token out of vocabulary: HTTP %d %s" % (st, b))
        st, _, b = post(s, {"prompt": list(range(3, 303))})
        check(st == 400 and "context" in b, "token prompt over the context: HTTP %d %s" % (st, b))
        st, _, b = post(s, {"prompt": "word " * 600})
        check(st == 400 and "context" in b, "text prompt over the context: HTTP %d %s" % (st, b))
        st, _, b = post(s, {"prompt": "x" * 8000})
        check(st == 413 and "4096" in b, "body over the limit: HTTP %d %s" % (st, b))
        # curl sends a big body too (chunked, no Content-Length)
        rc, out, _ = curl(s, "-w", "\n%{http_code}", "-X", "POST", "-H", "Transfer-Encoding: chunked",
                          "--data-binary", '{"prompt":"' + "y" * 9000 + '"}',
                          "http://127.0.0.1:%d/v1/completions" % s.port)
        check(out.endswith("413"), "chunked body over the limit: %s" % out[-200:])
        # still serving
        st, _, b = post(s, {"prompt": [1, 2, 3], "max_tokens": 2})
        check(st == 200, "after bad input: HTTP %d %s" % (st, b))
        check(metric(s, 'ggperf_http_requests_total{code="400"}') >= 7, "400s not counted")
    finally:
        s.stop()


def case_queue_full():
    # one slot, a queue of 1, a slow model: most of 12 simultaneous requests get 503
    s = Server("--slots", "1", "--queue", "1", "--step-delay-us", "2000")
    try:
        results = []
        lock = threading.Lock()

        def worker():
            r = post(s, {"prompt": [1, 2, 3], "max_tokens": 10})
            with lock:
                results.append(r)
        ts = [threading.Thread(target=worker) for _ in range(12)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        codes = sorted(r[0] for r in results)
        check(set(codes) <= {200, 503}, "codes %s" % codes)
        check(codes.count(200) >= 1 and codes.count(503) >= 1, "codes %s" % codes)
        for st, hdr, b in results:
            if st == 503:
                check(hdr.get("Retry-After") == "1", "503 without Retry-After: %r" % hdr)
                check("queue is full" in b, "503 body: " + b)
        st, _, _ = post(s, {"prompt": [1, 2, 3], "max_tokens": 2})
        check(st == 200, "after a full queue: HTTP %d" % st)
    finally:
        s.stop()


def case_disconnect():
    # one slot; a client reads one streamed token and hangs up: its slot must
    # be free long before its 250 tokens (3.75 s at 15 ms a step) would be done
    s = Server("--slots", "1", "--step-delay-us", "15000")
    try:
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10 * SLOW)
        body = json.dumps({"prompt": [1, 2, 3], "max_tokens": 250, "stream": True, "ignore_eos": True})
        sock.sendall(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\n\r\n%s" % (len(body), body)).encode())
        got = b""
        while b"data: " not in got:
            chunk = sock.recv(4096)
            check(chunk, "stream closed before the first event")
            got += chunk
        t0 = time.time()
        sock.close()
        deadline = t0 + 2.5 * SLOW
        while time.time() < deadline:
            if metric(s, 'ggperf_completions_total{reason="cancelled"}') == 1 and metric(s, "ggperf_slots_busy") == 0:
                break
            time.sleep(0.02)
        else:
            raise Fail("slot not freed %.2fs after the client hung up" % (time.time() - t0))
        check(metric(s, "ggperf_generated_tokens_total") < 200, "generation ran on after the disconnect")
        st, _, _ = post(s, {"prompt": [1, 2], "max_tokens": 2})
        check(st == 200, "next request after a disconnect: HTTP %d" % st)
    finally:
        s.stop()


def case_slow_request_timeout():
    s = Server("--timeout", "1")
    try:
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10 * SLOW)
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"pro")
        t0 = time.time()
        sock.settimeout(6 * SLOW)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            raise Fail("a stalled request was not timed out in %ds" % (6 * SLOW))
        except ConnectionResetError:
            data = b""
        check(data == b"" or data.startswith(b"HTTP/1.1 4") or data.startswith(b"HTTP/1.1 5"),
              "stalled request got %r" % data[:80])
        check(time.time() - t0 >= 0.5, "closed before the timeout")
        sock.close()
        st, _ = get(s, "/health")
        check(st == 200, "health after a timeout: HTTP %d" % st)
    finally:
        s.stop()


def case_queued_outlives_timeout():
    # --timeout 1 guards slow senders, not slow servers: a request queued
    # behind a 1.5 s generation must still be answered in full
    s = Server("--slots", "1", "--timeout", "1", "--step-delay-us", "25000")
    try:
        results = []

        def worker(stream):
            c = s.conn()
            c.request("POST", "/v1/completions", body=json.dumps({"prompt": [1, 2], "max_tokens": 60,
                                                                  "stream": stream, "ignore_eos": True}))
            r = c.getresponse()
            if stream:
                ev, done = sse_events(r)
                results.append((r.status, len(ev), done))
            else:
                b = json.loads(r.read())
                results.append((r.status, b["usage"]["completion_tokens"], True))
            c.close()
        ts = [threading.Thread(target=worker, args=(k % 2 == 0,)) for k in range(3)]
        for t in ts:
            t.start()
            time.sleep(0.05)
        for t in ts:
            t.join()
        check(len(results) == 3, "%d of 3 requests answered" % len(results))
        for st, n, done in results:
            check(st == 200 and done and n >= 60, "a queued request was cut: HTTP %d, %d tokens/events" % (st, n))
    finally:
        s.stop()


def case_drain():
    s = Server("--slots", "2", "--step-delay-us", "5000")
    try:
        c = s.conn()
        c.request("POST", "/v1/completions", body=json.dumps({"prompt": [1, 2, 3], "max_tokens": 60, "stream": True,
                                                              "temperature": 0}))
        r = c.getresponse()
        check(r.status == 200, "stream: HTTP %d" % r.status)
        first = r.readline()
        check(first.startswith(b"data: "), "first line %r" % first)
        s.p.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        # while draining: new completions are refused (503) or the port is closed
        try:
            st, hdr, b = post(s, {"prompt": [1], "max_tokens": 1})
            check(st == 503, "completion during drain: HTTP %d %s" % (st, b))
        except (ConnectionError, OSError):
            pass
        rest = r.read().decode("utf-8")
        c.close()
        events = [l for l in (first.decode() + rest).split("\n") if l.startswith("data: ")]
        check(events[-1] == "data: [DONE]", "the in-flight stream was cut: %r" % events[-1:])
        fin = json.loads(events[-2][6:])["choices"][0]["finish_reason"]
        check(fin in ("length", "stop"), "finish_reason %s" % fin)
        check(fin == "stop" or len(events) == 62, "%d events for 60 tokens" % len(events))
    finally:
        s.stop()


def case_metrics():
    s = Server()
    try:
        post(s, {"prompt": [1, 2, 3], "max_tokens": 3})
        st, text = get(s, "/metrics")
        check(st == 200, "metrics: HTTP %d" % st)
        for name in ("ggperf_http_requests_total", "ggperf_generated_tokens_total", "ggperf_queue_depth",
                     "ggperf_slots_busy", "ggperf_time_to_first_token_seconds_bucket",
                     "ggperf_inter_token_latency_seconds_bucket", "ggperf_queue_wait_seconds_bucket",
                     "ggperf_request_duration_seconds_count"):
            check(("\n" + name) in text, "metrics lack %s" % name)
            check(("# TYPE " + name.replace("_bucket", "").replace("_count", "")) in text, "no TYPE line for " + name)
        check(metric(s, 'ggperf_completions_total{reason="length"}') == 1, "completion not counted")
        check(metric(s, "ggperf_time_to_first_token_seconds_count") == 1, "TTFT count")
        check(metric(s, "ggperf_inter_token_latency_seconds_count") == 2, "ITL count (3 tokens: 2 gaps)")
    finally:
        s.stop()


def stalling_server(send_headers, hold):
    """A one-connection HTTP server that reads a request and then stalls,
    after the 200 headers of a chunked stream or before any byte."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)

    def serve():
        c, _ = ls.accept()
        c.recv(65536)
        if send_headers:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        time.sleep(hold)
        c.close()
        ls.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return ls.getsockname()[1], t


def case_loadgen_timeout():
    """ggperf loadgen's client timeout: a response that stalls fails after
    --timeout seconds, and the error names the timeout (not "cut short")."""
    for send_headers, want in ((True, "no data for 1 s"), (False, "no response in 1 s")):
        port, t = stalling_server(send_headers, 6 * SLOW)
        t0 = time.time()
        p = subprocess.run([BIN, "loadgen", "--url", "http://127.0.0.1:%d" % port, "--requests", "1", "--clients", "1",
                            "--prompt", "2", "--gen", "2", "--timeout", "1"], capture_output=True, text=True,
                           timeout=30 * SLOW)
        took = time.time() - t0
        out = p.stdout + p.stderr
        check(p.returncode == 1, "loadgen exit %d (want 1: no request succeeded): %s" % (p.returncode, out))
        check(want in out and "--timeout" in out, "error does not name the timeout: %s" % out)
        check("failed 1" in out, "the stalled request is not counted as failed: %s" % out)
        check(0.9 <= took < 5 * SLOW, "loadgen took %.1f s for a 1 s timeout" % took)
        t.join(10 * SLOW)


CASES = {n[5:]: f for n, f in sorted(globals().items()) if n.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES and sys.argv[1] != "--list":
        print("usage: serve_client.py CASE|--list (cases: %s)" % " ".join(CASES), file=sys.stderr)
        sys.exit(2)
    if sys.argv[1] == "--list":
        print("\n".join(CASES))
        sys.exit(0)
    try:
        CASES[sys.argv[1]]()
    except Fail as e:
        print("serve %s: FAIL: %s" % (sys.argv[1], e), file=sys.stderr)
        sys.exit(1)
    print("serve %s: ok" % sys.argv[1])
