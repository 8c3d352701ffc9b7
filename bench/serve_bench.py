#!/usr/bin/env python3
"""Load on `ser serve`: 200 requests of a 4-s clip, 8 at a time, on loopback.

Builds a throwaway model file (`ser model build` on the demo corpus, one
epoch: the recommended model's network and input, untrained weights),
starts `ser serve --model FILE --addr 127.0.0.1:0`, and POSTs a 4-s clip
(a demo clip looped to 4.0 s) to `/api/predict` 200 times from 8 threads.
Every answer must equal `ser predict --model FILE --json CLIP`'s. Reports
p50/p99 latency, requests/s and the server's peak RSS; then uploads a
30-minute 16 kHz recording (speech every 10 s) with `?timeline=1` and
reports the time and the server's peak RSS again. The reference, in the
same run: `ser predict --model` as one process per request, 8 at a time.
"""
import argparse
import concurrent.futures as cf
import glob
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave

sys.path.insert(0, os.path.dirname(__file__))
from predict_bench import four_seconds, run, throwaway_model  # noqa: E402


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def post(addr, path, body):
    host, port = addr.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=600)
    c.request("POST", path, body=body)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def thirty_minutes(src, dst):
    """`src`'s samples (16-bit) at 16 kHz, once every 10 s for 30 min."""
    with wave.open(src) as w:
        rate, ch, frames = w.getframerate(), w.getnchannels(), w.readframes(w.getnframes())
    step = max(1, rate // 16000) * ch  # naive decimation: a load test, not a feature test
    speech = b"".join(frames[i * 2:i * 2 + 2] for i in range(0, len(frames) // 2, step))
    gap = b"\0\0" * (10 * 16000)
    block = (speech + gap)[: 10 * 16000 * 2]
    with wave.open(dst, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        for _ in range(180):
            w.writeframes(block)
    return dst


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ser", required=True)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ser-serve-")
    _, data, model = throwaway_model(args.ser, tmp)
    first = sorted(glob.glob(os.path.join(data, "Actor_01", "*.wav")))[0]
    clip = four_seconds(first, os.path.join(tmp, "four-seconds.wav"))
    want = [json.loads(l) for l in run([args.ser, "predict", "--model", model, "--json", clip]).splitlines()]
    body = open(clip, "rb").read()

    server = subprocess.Popen([args.ser, "serve", "--model", model, "--addr", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, text=True)
    addr = server.stdout.readline().split("http://")[1].split("/")[0]
    path = "/api/predict?name=" + clip

    def one(_):
        t = time.perf_counter()
        status, data = post(addr, path, body)
        took = time.perf_counter() - t
        assert status == 200, data
        got = [json.loads(l) for l in data.decode().splitlines()]
        assert got == want, (got, want)
        return took

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(args.concurrency) as ex:
        ms = sorted(1e3 * x for x in ex.map(one, range(args.requests)))
    wall = time.perf_counter() - t0
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    rss = peak_rss_mb(server.pid)
    print(f"serve: {args.requests} requests of a 4-s clip, {args.concurrency} at a time, all equal to "
          f"`ser predict --json`: p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms, "
          f"{args.requests / wall:.1f} requests/s, server peak RSS {rss:.1f} MB")

    long = thirty_minutes(first, os.path.join(tmp, "thirty-minutes.wav"))
    size = os.path.getsize(long)
    t = time.perf_counter()
    status, data = post(addr, "/api/predict?timeline=1&name=thirty-minutes.wav", open(long, "rb"))
    took = time.perf_counter() - t
    assert status == 200, data
    lines = data.decode().splitlines()
    print(f"serve: a 30-minute upload ({size / 1e6:.1f} MB WAV, ?timeline=1): {len(lines) - 1} segments "
          f"in {took:.1f} s, server peak RSS {peak_rss_mb(server.pid):.1f} MB")
    server.terminate()
    server.wait()

    # Reference: one `ser predict` process per request, 8 at a time.
    cmd = [args.ser, "predict", "--model", model, "--json", clip]

    def cli(_):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(args.concurrency) as ex:
        ref = sorted(1e3 * x for x in ex.map(cli, range(args.requests)))
    ref_wall = time.perf_counter() - t0
    print(f"reference, `ser predict --model` per request ({args.concurrency} at a time): "
          f"p50 {statistics.median(ref):.0f} ms, {args.requests / ref_wall:.1f} requests/s "
          f"(serve / processes = {(args.requests / wall) / (args.requests / ref_wall):.2f}x the throughput)")


if __name__ == "__main__":
    main()
