"""Benchmark: signed Apple passes per second against the raw RSA ceiling.

    python -m bench.apple_sign [--passes N] [--rounds R] [--check]

Builds distinct passes (a new serial and a changing points field each time) from one
template in memory, signed with an RSA-2048 Pass Type ID key, on one process and on all
cores. In the same run it measures the ceiling: raw RSA-2048 PKCS#1 v1.5 signatures per
second with the same key on one core. Rounds of the three alternate so that machine noise
hits them alike; medians are reported.

On all cores, one process per core builds its template, loads the key and signs a few
passes before the first round; each round then starts every process at once (a barrier)
and times from there until the last one is done, so set-up is never inside the timed part.

Targets: passes/s on one core ≥ 75% of the ceiling; on all cores ≥ 0.9 × cores × one core
(1.8× on two cores).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from passmint.wallet.apple.bundle import PassTemplate
from passmint.wallet.apple.certificates import SigningIdentity, load_identity_pem
from passmint.wallet.apple.devpki import generate_dev_pki
from passmint.wallet.apple.images import prepare_images
from passmint.wallet.apple.signing import ManifestSigner
from passmint.wallet.apple.styles import PassStyle

TARGET = 0.75
SCALING = 0.9  # of one core's rate, per core


def png(width: int, height: int) -> bytes:
    """A high-resolution source image, drawn in memory."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (90, 55, 30, 255))
    ImageDraw.Draw(image).ellipse(
        (width // 5, height // 5, width * 4 // 5, height * 4 // 5), fill=(240, 230, 210, 255)
    )
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


NOW = datetime.now(UTC)


def template() -> PassTemplate:
    doc = {
        "formatVersion": 1,
        "passTypeIdentifier": "pass.dev.passmint.demo",
        "teamIdentifier": "PASSMINT01",
        "serialNumber": "TEMPLATE",
        "organizationName": "Café Lumen",
        "description": "Café Lumen loyalty card",
        "logoText": "Café Lumen",
        "backgroundColor": "rgb(60, 35, 20)",
        "foregroundColor": "rgb(255, 244, 230)",
        "labelColor": "rgb(230, 190, 150)",
        "webServiceURL": "https://passes.example.com/apple/",
        "authenticationToken": "0123456789abcdef0123456789abcdef",
        "storeCard": {
            "headerFields": [{"key": "tier", "label": "TIER", "value": "Gold"}],
            "primaryFields": [
                {
                    "key": "points",
                    "label": "POINTS",
                    "value": 0,
                    "changeMessage": "Your balance is now %@ points",
                }
            ],
            "secondaryFields": [{"key": "member", "label": "MEMBER", "value": "Ada Lovelace"}],
            "auxiliaryFields": [{"key": "next", "label": "NEXT REWARD", "value": "Free coffee"}],
            "backFields": [{"key": "terms", "label": "Terms", "value": "Points expire yearly."}],
        },
        "barcodes": [
            {
                "format": "PKBarcodeFormatQR",
                "message": "TEMPLATE",
                "messageEncoding": "iso-8859-1",
                "altText": "TEMPLATE",
            }
        ],
        "locations": [{"latitude": 51.5074, "longitude": -0.1278}],
    }
    sources = {"icon.png": png(87, 87), "logo.png": png(480, 150), "strip.png": png(1125, 369)}
    files = prepare_images(sources, PassStyle.STORE_CARD)
    files["en.lproj/pass.strings"] = b'"POINTS" = "Points";\n"TIER" = "Tier";\n'
    files["fr.lproj/pass.strings"] = b'"POINTS" = "Points";\n"TIER" = "Niveau";\n'
    return PassTemplate(doc, files)


def identity_from(files: dict[str, bytes]) -> SigningIdentity:
    return load_identity_pem(
        files["pass-cert.pem"], files["pass-key.pem"], now=NOW, wwdr_pem=files["wwdr.pem"]
    )


def build_passes(tpl: PassTemplate, signer: ManifestSigner, count: int, offset: int) -> float:
    """Seconds to build ``count`` distinct signed passes."""
    start = time.perf_counter()
    for i in range(offset, offset + count):
        serial = f"CARD-{i:08d}"
        tpl.build(
            signer,
            signing_time=NOW,
            serial_number=serial,
            fields={"points": i * 7 % 5000},
            barcode_message=serial,
            barcode_alt_text=serial,
        )
    return time.perf_counter() - start


def raw_signatures(key: rsa.RSAPrivateKey, count: int) -> float:
    payload = bytes(range(100))
    pad, digest = padding.PKCS1v15(), hashes.SHA256()
    start = time.perf_counter()
    for _ in range(count):
        key.sign(payload, pad, digest)
    return time.perf_counter() - start


def _signer(
    files: dict[str, bytes],
    passes: int,
    rounds: int,
    offset: int,
    start: Barrier,
    results: Queue[float],
) -> None:
    """One all-cores process: set up and warm up, then sign ``passes`` per round, each round
    started by the barrier."""
    tpl = template()
    signer = ManifestSigner(identity_from(files))
    build_passes(tpl, signer, 50, offset)  # warm-up
    start.wait()  # set up: the one-core rounds run only once every process is idle
    for r in range(rounds):
        start.wait()
        results.put(build_passes(tpl, signer, passes, offset + (r + 1) * passes))


class AllCores:
    """``cores`` signing processes, set up before the first round."""

    def __init__(self, files: dict[str, bytes], cores: int, passes: int, rounds: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.cores, self.passes = cores, passes
        self.start: Barrier = ctx.Barrier(cores + 1)
        self.results: Queue[float] = ctx.Queue()
        self.processes = [
            ctx.Process(
                target=_signer,
                args=(files, passes, rounds, k * 10_000_000, self.start, self.results),
                daemon=True,
            )
            for k in range(cores)
        ]
        for process in self.processes:
            process.start()
        self.start.wait(timeout=600)

    def round(self) -> tuple[float, float]:
        """Passes per second over one round, from the barrier to the last process done,
        and the mean rate of one process while all of them sign."""
        self.start.wait(timeout=600)  # returns when every process is set up and waiting
        started = time.perf_counter()
        own = [self.results.get(timeout=600) for _ in range(self.cores)]
        elapsed = time.perf_counter() - started
        return self.cores * self.passes / elapsed, statistics.mean(self.passes / s for s in own)

    def close(self) -> None:
        for process in self.processes:
            process.join(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--passes", type=int, default=1000, help="passes per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="exit 1 below the target ratio")
    args = parser.parse_args(argv)

    pki = generate_dev_pki(now=NOW)
    files = pki.files()
    identity = identity_from(files)
    signer = ManifestSigner(identity)
    tpl = template()
    key = identity.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    sample = tpl.build(signer, signing_time=NOW, serial_number="SAMPLE")

    cores = os.cpu_count() or 1
    workers = AllCores(files, cores, args.passes, args.rounds)
    build_passes(tpl, signer, 50, 0)  # warm-up
    raw_signatures(key, 50)
    pass_rates: list[float] = []
    raw_rates: list[float] = []
    multi_rates: list[float] = []
    each_rates: list[float] = []
    try:
        for r in range(args.rounds):
            raw_rates.append(args.passes / raw_signatures(key, args.passes))
            pass_rates.append(
                args.passes / build_passes(tpl, signer, args.passes, (r + 1) * args.passes)
            )
            together, each = workers.round()
            multi_rates.append(together)
            each_rates.append(each)
    finally:
        workers.close()
    ceiling = statistics.median(raw_rates)
    one_core = statistics.median(pass_rates)
    multi = statistics.median(multi_rates)
    ratio = one_core / ceiling
    # Paired per round (both ran within a second of each other), like the one-core ratio's
    # rounds: noise from other work on the machine then hits both sides of a ratio alike.
    scaling = statistics.median(m / p for m, p in zip(multi_rates, pass_rates, strict=True))
    scaling_target = SCALING * cores

    print(f"pass size: {len(sample)} bytes ({len(tpl.files)} static files), RSA-2048, SHA-256")
    print(
        f"ceiling, raw RSA-2048 PKCS#1 v1.5 signatures, 1 core: {ceiling:9.0f} /s "
        f"({1e6 / ceiling:.0f} µs each)"
    )
    print(
        f"signed passes, 1 process:                          {one_core:9.0f} /s "
        f"({1e6 / one_core:.0f} µs each)"
    )
    print(f"signed passes, {cores} processes (all cores):            {multi:9.0f} /s")
    print(
        f"  one of the {cores} processes, while all sign:           "
        f"{statistics.median(each_rates):9.0f} /s"
    )
    print(
        f"ratio passes/ceiling on one core: {ratio:.1%} (target ≥ {TARGET:.0%}): "
        f"{'PASS' if ratio >= TARGET else 'BELOW TARGET'}"
    )
    scaled = cores < 2 or scaling >= scaling_target
    print(
        f"all cores / one core, median of the rounds' ratios: {scaling:.2f}× on {cores} cores "
        f"(target ≥ {scaling_target:.1f}×): {'PASS' if scaled else 'BELOW TARGET'}; "
        f"ratio of the medians {multi / one_core:.2f}×"
    )
    print(
        f"rounds: passes/s {[round(x) for x in pass_rates]}, raw/s {[round(x) for x in raw_rates]}"
        f", all cores/s {[round(x) for x in multi_rates]}"
    )
    print("load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 1 if args.check and (ratio < TARGET or not scaled) else 0


if __name__ == "__main__":
    sys.exit(main())
