"""``passmint demo --seed-only``: the demo tenant's cards are real loyalty cards whose passes
show the points their purchases earned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import anyio

from passmint.config import Settings
from passmint.passes import service as passes
from passmint.runtime import Runtime


def test_demo_seeds_loyalty_cards_with_their_passes(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PASSMINT_DATA_DIR": str(tmp_path),
        "PASSMINT_SECRET_KEY": "d" * 43,
        "PASSMINT_QUEUE": "embedded",
    }
    env.pop("PASSMINT_DATABASE_URL", None)
    env.pop("PASSMINT_REDIS_URL", None)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "passmint"), "demo", "--seed-only"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("card ") == 3
    assert "/api/v1/activities" in done.stdout
    state = json.loads((tmp_path / "demo.json").read_text())

    async def points() -> dict[str, dict[str, object]]:
        runtime = Runtime(Settings(data_dir=tmp_path, secret_key="d" * 43))
        await runtime.start(worker=False, migrate=False)
        try:
            async with runtime.db.sessions() as session:
                ctx = runtime.pass_context(session, uuid.UUID(state["tenant_id"]))
                out = {}
                for item in state["passes"]:
                    pass_ = await passes.get_pass(ctx, uuid.UUID(item["id"]))
                    out[item["name"]] = pass_.data
                return out
        finally:
            await runtime.stop()

    data = anyio.run(points)
    # Ada: 40 welcome points, then 1,350 for 135.00 EUR at 1 point per 0.10 EUR
    assert data["Ada Lovelace"]["points"] == 1390
    assert data["Ada Lovelace"]["tier"] == "Gold"
    assert data["Grace Hopper"]["points"] == 40 + 274
    assert data["Grace Hopper"]["tier"] == "Silver"
    assert data["Alan Turing"]["points"] == 40
    assert data["Alan Turing"]["next_reward"] == "Free coffee"
