"""The local media server (mediaserver/) on this machine: how late a listener hears a speaker,
and how many listeners one speaker can have before audio breaks up. Measured, never asserted.

- media_mouth_to_ear_ms (p50, p95): an aiortc publisher sends a 440 Hz tone that switches on and
  off; an aiortc WHEP subscriber decodes what the server sends. Each onset's latency is from the
  publisher's first tone frame (as its sender takes it) to the first decoded frame above the
  threshold at the subscriber: Opus encode, loopback network, the server's decode, relay and
  re-encode, and the subscriber's jitter buffer and decode. A browser adds its own capture and
  playout buffers on top (tens of ms); IVS real-time promises under 300 ms end to end.
- media_subscribers_per_core: one speaker, subscribers added in steps; at each step the server
  process's CPU (from /proc), the frames the server hands its senders (its /control/stats
  counters) and the frames every subscriber receives, over a window. Audio "breaks up" when the
  server sends under 90% of the 50 frames a second per subscriber. The subscribers run in this
  process, on the same cores as the server: what they receive is reported beside it, and the
  figure is a floor.
"""
from __future__ import annotations

import asyncio
import os
import statistics
import time
from pathlib import Path

ONSETS = 24
TONE_ON_S = 0.3
TONE_OFF_S = 0.5
DETECT_RMS = 0.05
FRAMES_PER_S = 50
STEPS = (1, 5, 10, 20, 30, 40, 60)
WINDOW_S = 4.0
BREAK_UP = 0.9


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def _mouth_to_ear(server) -> tuple[list[float], int]:
    from tests.support.media_clients import ToneTrack, publish, subscribe, wait_until

    stage = "benchlatency"
    tone = ToneTrack(440, on=False)
    speaker = await publish(server.url, stage, server.token(stage, publish=True), tone)
    listener = await subscribe(server.url, stage, server.token(stage, publish=False))
    try:
        await wait_until(lambda: listener.pc.connectionState == "connected", 10)
        await asyncio.sleep(1.0)  # the slot is seated once the publisher's connection is up
        listener.watch = DETECT_RMS
        for _ in range(ONSETS):
            tone.on = True
            await asyncio.sleep(TONE_ON_S)
            tone.on = False
            await asyncio.sleep(TONE_OFF_S)
        await asyncio.sleep(0.5)
    finally:
        await speaker.pc.close()
        await listener.close()
    latencies, missed = [], 0
    for i, onset in enumerate(tone.onsets):
        until = tone.onsets[i + 1] if i + 1 < len(tone.onsets) else float("inf")
        heard = next((t for t, _ in listener.detections if onset <= t < until), None)
        if heard is None:
            missed += 1
        else:
            latencies.append((heard - onset) * 1000)
    return latencies, missed


async def _fan_out(server) -> tuple[list[dict], int]:
    from tests.support.media_clients import ToneTrack, publish, subscribe, wait_until

    stage = "benchfanout"
    speaker = await publish(server.url, stage, server.token(stage, publish=True), ToneTrack(440))
    listeners = []
    steps: list[dict] = []
    loop = asyncio.get_running_loop()
    try:
        for target in STEPS:
            while len(listeners) < target:
                listeners.append(await subscribe(server.url, stage, server.token(stage, publish=False), keep_seconds=0.2))
            if not await wait_until(lambda: all(l.total_frames() > 0 for l in listeners), 20):
                print(f"  media fan-out: {target} subscribers did not all start receiving; stopping", flush=True)
                break
            await asyncio.sleep(1.0)
            frames0 = [l.total_frames() for l in listeners]
            stats0 = await loop.run_in_executor(None, server.stats)
            cpu0, t0 = _cpu_seconds(server.process.pid), time.monotonic()
            await asyncio.sleep(WINDOW_S)
            cpu1, t1 = _cpu_seconds(server.process.pid), time.monotonic()
            stats1 = await loop.run_in_executor(None, server.stats)
            rates = [(l.total_frames() - f0) / (t1 - t0) for l, f0 in zip(listeners, frames0)]
            sent = (stats1["frames_sent"] - stats0["frames_sent"]) / (t1 - t0) / target
            step = {
                "subscribers": target,
                "server_cores": (cpu1 - cpu0) / (t1 - t0),
                "server_ratio": sent / FRAMES_PER_S,
                "dropped": stats1["frames_dropped"] - stats0["frames_dropped"],
                # Frames more than 250 ms late when a sender asked for them (the server fell behind).
                "stale": stats1["frames_stale"] - stats0["frames_stale"],
                "worst_ratio": min(rates) / FRAMES_PER_S,
                "median_ratio": statistics.median(rates) / FRAMES_PER_S,
            }
            steps.append(step)
            print(f"  media fan-out: {target} subscribers, server {step['server_cores']:.2f} cores, sent "
                  f"{step['server_ratio']:.0%} of frames ({step['dropped']} dropped, {step['stale']} stale); received: worst "
                  f"{step['worst_ratio']:.0%} / median {step['median_ratio']:.0%}", flush=True)
            if step["server_ratio"] < BREAK_UP:
                break
    finally:
        await speaker.pc.close()
        for listener in listeners:
            await listener.close()
    return steps, os.cpu_count() or 1


def run() -> tuple[list[dict], list[str]]:
    from bench.environment import temporary_directory
    from tests.support.media_server import running_media_server

    results: list[dict] = []
    notes: list[str] = []
    with temporary_directory() as tmp, running_media_server(Path(tmp), max_subscribers=1000) as server:
        latencies, missed = asyncio.run(_mouth_to_ear(server))
        if latencies:
            p50, p95 = _percentile(latencies, 50), _percentile(latencies, 95)
            results += [
                {"name": "media_mouth_to_ear_ms.p50", "value": round(p50, 1), "unit": "ms"},
                {"name": "media_mouth_to_ear_ms.p95", "value": round(p95, 1), "unit": "ms"},
            ]
            notes.append(
                f"media_mouth_to_ear_ms: {len(latencies)} onsets heard of {len(latencies) + missed} "
                f"(aiortc publisher -> local media server -> aiortc subscriber on loopback), min "
                f"{min(latencies):.0f} ms, max {max(latencies):.0f} ms; IVS real-time promises < 300 ms"
            )
        else:
            notes.append(f"media_mouth_to_ear_ms: no onset was heard ({missed} sent)")

        steps, cores = asyncio.run(_fan_out(server))
        fine = [s for s in steps if s["server_ratio"] >= BREAK_UP]
        if fine:
            best = fine[-1]
            per_core = best["subscribers"] / max(best["server_cores"], 1e-6)
            cpu_ms = best["server_cores"] * 1000 / best["subscribers"]
            results += [
                {"name": "media_subscribers_per_core", "value": round(per_core, 1), "unit": "subscribers/core"},
                {"name": "media_cpu_ms_per_subscriber_s", "value": round(cpu_ms, 2), "unit": "CPU ms/s"},
            ]
            broke = steps[-1] if steps[-1] is not best else None
            notes.append(
                f"media_subscribers_per_core: one speaker; up to {best['subscribers']} subscribers the server "
                f"sent >= {BREAK_UP:.0%} of the frames (using {best['server_cores']:.2f} cores = {cpu_ms:.1f} ms "
                f"of CPU per subscriber per second; subscribers per core extrapolated from that)"
                + (f"; at {broke['subscribers']} it sent {broke['server_ratio']:.0%} "
                   f"(server {broke['server_cores']:.2f} cores)" if broke else
                   f"; no break-up at the server up to {best['subscribers']}, the last step reached")
                + f"; what the aiortc subscribers received (they ran in the bench process, on the same "
                f"{cores} shared cores): " + ", ".join(
                    f"{s['subscribers']}: worst {s['worst_ratio']:.0%}" for s in steps)
            )
    return results, notes
