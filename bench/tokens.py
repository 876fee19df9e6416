"""Self-signed IVS participant tokens per second: `IvsTokenMinter.mint`, one thread on one core."""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone

DURATION_S = 2.0


def run() -> tuple[list[dict], list[str]]:
    from chalicelib import bootstrap
    from chalicelib.domain.ids import new_participant_id
    from chalicelib.domain.spaces import StageInfo

    from bench.environment import random_stage_arn

    minter = bootstrap.token_minter()
    stage = StageInfo(
        arn=random_stage_arn(),
        events_url="wss://global.events.live-video.net",
        whip_url="https://1a2b3c4d5e6f.global-bm.whip.live-video.net",
    )
    # What a listener join mints (stage.join_space -> _media): subscribe only, user and role attributes.
    ids = [new_participant_id() for _ in range(1024)]
    now = datetime.now(timezone.utc)

    pinned = None
    if hasattr(os, "sched_getaffinity"):
        pinned = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(pinned)})
    try:
        for i in range(50):  # warm-up: first signatures load OpenSSL state
            minter.mint(stage, participant_id=ids[i], user_id=f"u{i}", publish=False, now=now,
                        attributes={"user_id": f"u{i}", "role": "listener"})
        count = 0
        start_cpu = time.thread_time()
        start = time.perf_counter()
        deadline = start + DURATION_S
        while True:
            for _ in range(64):
                user = f"user-{count}"
                minter.mint(
                    stage,
                    participant_id=ids[count % len(ids)],
                    user_id=user,
                    publish=False,
                    now=now,
                    attributes={"user_id": user, "role": "listener"},
                )
                count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= DURATION_S or time.perf_counter() >= deadline:
                break
        cpu = time.thread_time() - start_cpu
    finally:
        if pinned is not None:
            os.sched_setaffinity(0, pinned)
    rate = count / elapsed
    notes = [
        f"token_mint_per_s: {count} tokens in {elapsed:.2f} s on one pinned core = {1000 / rate:.3f} ms/token; "
        f"the thread ran {cpu:.2f} s of CPU time ({count / cpu:,.0f} tokens per CPU-second; when this is "
        f"close to the wall time, a lower rate means a slower core, not a descheduled thread)"
    ]
    return [{"name": "token_mint_per_s", "value": round(rate), "unit": "tokens/s"}], notes
