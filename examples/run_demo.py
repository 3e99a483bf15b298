"""`make run`: Envoy with the filter (examples/envoy.yaml) in front of the demo upstream.
Sends one allowed and one blocked request, then follows the audit log until Ctrl-C."""

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wasm-tests"))
import harness  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent
CURLS = [
    ("allowed", "curl -s http://127.0.0.1:10000/v1/status"),
    ("blocked", "curl -s -X POST http://127.0.0.1:10000/v1/../admin/users -d '{\"role\":\"root\"}'"),
]


def fetch(url: str, data: bytes | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def main() -> None:
    # `kill`/`timeout` stop the demo as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    upstream = subprocess.Popen([sys.executable, str(EXAMPLES / "demo_upstream.py"), "8081"])
    envoy = harness.Envoy(EXAMPLES / "envoy.yaml", concurrency=1)
    try:
        envoy.start()
        print(f"\nEnvoy with authensor-filter listens on http://127.0.0.1:10000 (admin {envoy.admin}).")
        print("Try these two:")
        for label, cmd in CURLS:
            print(f"  # {label}\n  {cmd}")
        print("\nSending them now:")
        for label, path, data in [("allowed", "/v1/status", None), ("blocked", "/v1/../admin/users", b'{"role":"root"}')]:
            status, body = fetch(f"http://127.0.0.1:10000{path}", data)
            print(f"  {label}: HTTP {status} {body}")
        print("\nAudit lines (Ctrl-C to stop):")
        shown = 0
        while True:
            lines = envoy.audit()
            for line in lines[shown:]:
                print("  " + json.dumps(line))
            shown = len(lines)
            if envoy.proc.poll() is not None:
                raise SystemExit(f"envoy exited:\n{envoy.log()[-2000:]}")
            time.sleep(0.3)
    except KeyboardInterrupt:
        print("\nstopping")
    finally:
        envoy.stop()
        upstream.terminate()
        upstream.wait()


if __name__ == "__main__":
    main()
