"""The wasi-testsuite runner's adapter for wbox, in the shape of the suite's
own adapters (adapters/wasmtime.py): each test is `wbox run --rm FILE ARGS`
with the grants the test's JSON asks for, and no more.

WBOX names the wbox binary (default `wbox`); WBOX_ROOT its state, as ever.

An HTTP service test expects the runtime to print where it serves on
stderr's first line, as `wasmtime serve` does; wbox prints nothing of its
own, so such a test runs this file as a wrapper: it publishes a free port,
prints that port's URL once the service answers there, passes the runner's
signals on and ends as wbox does.
"""
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

WBOX = shlex.split(os.getenv("WBOX", "wbox"), posix=os.name != "nt")


def get_name() -> str:
    return "wbox"


def get_version() -> str:
    result = subprocess.run(WBOX[0:1] + ["--version"], encoding="UTF-8",
                            capture_output=True, check=True)
    return result.stdout.split()[1]


def get_wasi_versions() -> List[str]:
    return ["wasm32-wasip1", "wasm32-wasip3"]


def get_wasi_worlds() -> List[str]:
    return ["wasi:cli/command", "wasi:http/service"]


def compute_argv(test_path: str,
                 args_env_root: Tuple[List[str], Dict[str, str], Optional[str]],
                 proposals: List[str],
                 wasi_world: str,
                 wasi_version: str) -> List[str]:
    del wasi_version  # wbox tells a component's WASI from its exports
    args, env, root = args_env_root
    argv = WBOX + ["run", "--rm"]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    if root:
        argv += ["-v", f"{os.path.abspath(root)}:/"]
    if "sockets" in proposals:
        argv += ["--network", "host"]
    elif "http" in proposals:
        # Outgoing requests go to the runner's own servers on loopback.
        argv += ["--allow-net", "127.0.0.1"]
    if wasi_world == "wasi:http/service":
        return [sys.executable, __file__, "serve"] + argv + [test_path] + args
    return argv + [test_path] + args


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(argv: List[str]) -> int:
    port = _free_port()
    run = argv.index("--rm") + 1
    child = subprocess.Popen(argv[:run] + ["-p", f"127.0.0.1:{port}:80"] + argv[run:])
    for forwarded in (signal.SIGINT, signal.SIGTERM):
        signal.signal(forwarded, lambda sig, _frame: child.send_signal(sig))
    deadline = time.monotonic() + 30
    while child.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            print(f"Serving HTTP on http://127.0.0.1:{port}/", file=sys.stderr, flush=True)
            break
        except OSError:
            time.sleep(0.05)
    return child.wait()


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    sys.exit(_serve(sys.argv[2:]))
