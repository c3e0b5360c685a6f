"""Writes the WASI 0.2.0 WIT tree componentize-py reads for wasi:http/proxy.

componentize-py ships no WASI WIT files; the spin-sdk wheel carries them.
wasi:http@0.2.0 goes at the root of DEST (the package whose `proxy` world is
targeted), the packages it uses under DEST/deps/.

    python3 wit_from_spin_sdk.py spin_sdk-5.0.0-….whl DEST
"""

import os
import sys
import zipfile

wheel, dest = sys.argv[1:]
packages = ["http", "cli", "clocks", "filesystem", "io", "random", "sockets"]
with zipfile.ZipFile(wheel) as z:
    for package in packages:
        prefix = f"spin_sdk/wit/deps/{package}@0.2.0/"
        names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(".wit")]
        if not names:
            sys.exit(f"{prefix} is missing from {wheel}")
        target = dest if package == "http" else os.path.join(dest, "deps", f"{package}@0.2.0")
        os.makedirs(target, exist_ok=True)
        for name in names:
            with open(os.path.join(target, name[len(prefix):]), "wb") as f:
                f.write(z.read(name))
