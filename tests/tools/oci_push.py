#!/usr/bin/env python3
"""Pushes test images to a registry over plain HTTP, per the OCI distribution spec.

The registry tests need images no ordinary tool makes: wasm OCI artifacts, images
with Docker media types, indexes over hand-picked manifests, and layers that try
to escape the rootfs. Standard library only, so it runs wherever python3 does.

    oci_push.py [--user USER:PASS] artifact REGISTRY NAME:TAG FILE.wasm
    oci_push.py [--user USER:PASS] image REGISTRY NAME:TAG [--os wasi] [--arch wasm]
        [--entrypoint /app.wasm ...] [--cmd ARG ...] [--env K=V ...] [--workdir DIR]
        [--file GUESTPATH=HOSTPATH ...] [--raw-layer LAYER.tar ...] [--docker] [--zstd]
    oci_push.py [--user USER:PASS] index REGISTRY NAME:TAG --manifest DIGEST=OS/ARCH ...
    oci_push.py hostile-layer OUT.tar KIND

The push subcommands print the pushed manifest's digest (sha256:...) on stdout.
--entrypoint and --cmd also take a single JSON array, for arguments that start
with a dash: --cmd '["--exit", "7"]'.
"""

import argparse
import base64
import datetime
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
WASM_CONFIG = "application/vnd.wasm.config.v0+json"
WASM_LAYER = "application/wasm"

# The version field of a wasm binary (bytes 4..8) tells a component from a module.
COMPONENT_VERSION = b"\x0d\x00\x01\x00"

# The registries are local: an http_proxy from the environment must not apply.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_bytes(value):
    return json.dumps(value, indent=2).encode()


class Registry:
    """One repository in a registry, spoken to over plain HTTP."""

    def __init__(self, address, name, user):
        if "://" not in address:
            address = "http://" + address
        self.base = address.rstrip("/")
        self.name = name
        self.auth = None
        if user:
            self.auth = "Basic " + base64.b64encode(user.encode()).decode()

    def request(self, method, url, data=None, headers=None, ok=(200,)):
        """Returns (status, headers, body); fails on a status outside `ok`."""
        if url.startswith("/"):
            url = self.base + url
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        if self.auth:
            request.add_header("Authorization", self.auth)
        try:
            with OPENER.open(request) as response:
                status, reply, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, reply, body = error.code, error.headers, error.read()
        if status not in ok:
            sys.exit(f"oci_push: {method} {url}: HTTP {status}: {body.decode(errors='replace')}")
        return status, reply, body

    def push_blob(self, data):
        digest = sha256(data)
        status, _, _ = self.request("HEAD", f"/v2/{self.name}/blobs/{digest}", ok=(200, 404))
        if status == 200:
            return digest
        _, reply, _ = self.request("POST", f"/v2/{self.name}/blobs/uploads/", ok=(202,))
        # The Location may be relative to the registry and may carry a query already.
        location = urllib.parse.urljoin(self.base + "/", reply["Location"])
        separator = "&" if "?" in location else "?"
        url = f"{location}{separator}digest={urllib.parse.quote(digest)}"
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
        self.request("PUT", url, data=data, headers=headers, ok=(201,))
        return digest

    def push_manifest(self, reference, manifest):
        body = json_bytes(manifest)
        digest = sha256(body)
        _, reply, _ = self.request(
            "PUT",
            f"/v2/{self.name}/manifests/{reference}",
            data=body,
            headers={"Content-Type": manifest["mediaType"]},
            ok=(201,),
        )
        echoed = reply.get("Docker-Content-Digest")
        if echoed and echoed != digest:
            sys.exit(f"oci_push: the registry stored {echoed}, not {digest}")
        return digest

    def get_manifest(self, reference):
        accept = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])
        _, reply, body = self.request(
            "GET", f"/v2/{self.name}/manifests/{reference}", headers={"Accept": accept}
        )
        media_type = json.loads(body).get("mediaType") or reply["Content-Type"]
        return media_type, body


def split_reference(name_tag):
    name, colon, tag = name_tag.rpartition(":")
    if not colon or "/" in tag:
        sys.exit(f"oci_push: {name_tag!r} is not NAME:TAG")
    return name, tag


def descriptor(media_type, digest, size, annotations=None):
    result = {"mediaType": media_type, "digest": digest, "size": size}
    if annotations:
        result["annotations"] = annotations
    return result


def push_artifact(args):
    """A wasm OCI artifact, per the CNCF TAG-Runtime wasm-oci-artifact spec."""
    name, tag = split_reference(args.name_tag)
    registry = Registry(args.registry, name, args.user)
    with open(args.wasm, "rb") as f:
        wasm = f.read()
    layer = registry.push_blob(wasm)
    config = json_bytes({
        "created": now(),
        "architecture": "wasm",
        "os": "wasip2" if wasm[4:8] == COMPONENT_VERSION else "wasip1",
        "layerDigests": [layer],
    })
    title = {"org.opencontainers.image.title": os.path.basename(args.wasm)}
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(WASM_CONFIG, registry.push_blob(config), len(config)),
        "layers": [descriptor(WASM_LAYER, layer, len(wasm), title)],
    }
    return registry.push_manifest(tag, manifest)


def add_entry(tar, info, data=None):
    info.mtime = 0  # same content, same digest: tests can compare them
    if data is not None:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def files_layer(files, owners=()):
    """An uncompressed tar holding GUESTPATH=HOSTPATH files, with their parent directories;
    OWNERS (GUESTPATH=UID:GID:MODE, the mode in octal) set those entries' owners and modes."""
    owned = {}
    for spec in owners:
        guest, _, fields = spec.partition("=")
        uid, gid, mode = fields.split(":")
        owned[guest.strip("/")] = (int(uid), int(gid), int(mode, 8))

    def own(info):
        if info.name in owned:
            info.uid, info.gid, info.mode = owned[info.name]

    buffer = io.BytesIO()
    directories = set()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for spec in files:
            guest, equals, host = spec.partition("=")
            if not equals:
                sys.exit(f"oci_push: --file {spec!r} is not GUESTPATH=HOSTPATH")
            parts = guest.strip("/").split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in directories:
                    directories.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    own(info)
                    add_entry(tar, info)
            with open(host, "rb") as f:
                data = f.read()
            info = tarfile.TarInfo("/".join(parts))
            info.mode = os.stat(host).st_mode & 0o777
            own(info)
            add_entry(tar, info, data)
    return buffer.getvalue()


def argv_list(values):
    """The value of --entrypoint or --cmd: its words, or one JSON array."""
    if values is None:
        return None
    if len(values) == 1 and values[0].startswith("["):
        return json.loads(values[0])
    return values


def push_image(args):
    """A regular image (OCI or Docker media types) whose rootfs holds a wasm program."""
    name, tag = split_reference(args.name_tag)
    registry = Registry(args.registry, name, args.user)
    tars = []
    for path in args.raw_layer:
        with open(path, "rb") as f:
            tars.append(f.read())
    if args.file or not tars:
        tars.append(files_layer(args.file, args.owner))

    layer_type = DOCKER_LAYER_GZIP if args.docker else OCI_LAYER_GZIP
    if args.zstd:
        layer_type = "application/vnd.oci.image.layer.v1.tar+zstd"
    layers = []
    for data in tars:
        if args.zstd:
            # The standard library has no zstd before Python 3.14: the zstd tool.
            compressed = subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
        else:
            compressed = gzip.compress(data, mtime=0)
        layers.append(descriptor(layer_type, registry.push_blob(compressed), len(compressed)))

    created = args.created or now()
    labels = dict(label.split("=", 1) if "=" in label else (label, "") for label in args.label)
    image_config = {}
    for key, value in [
        ("Entrypoint", argv_list(args.entrypoint)),
        ("Cmd", argv_list(args.cmd)),
        ("Env", args.env or None),
        ("WorkingDir", args.workdir),
        ("Labels", labels or None),
        ("Volumes", {path: {} for path in args.volume} or None),
    ]:
        if value is not None:
            image_config[key] = value
    config = json_bytes({
        "created": created,
        "architecture": args.arch,
        "os": args.os,
        "config": image_config,
        "rootfs": {"type": "layers", "diff_ids": [sha256(data) for data in tars]},
        "history": [{"created": created, "created_by": "oci_push.py image"} for _ in tars],
    })
    config_type = DOCKER_CONFIG if args.docker else OCI_CONFIG
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if args.docker else OCI_MANIFEST,
        "config": descriptor(config_type, registry.push_blob(config), len(config)),
        "layers": layers,
    }
    return registry.push_manifest(tag, manifest)


def push_index(args):
    """An OCI image index over manifests already in the repository."""
    name, tag = split_reference(args.name_tag)
    registry = Registry(args.registry, name, args.user)
    manifests = []
    for spec in args.manifest:
        digest, equals, platform = spec.partition("=")
        os_name, slash, arch = platform.partition("/")
        if not (equals and slash):
            sys.exit(f"oci_push: --manifest {spec!r} is not DIGEST=OS/ARCH")
        media_type, body = registry.get_manifest(digest)
        entry = descriptor(media_type, sha256(body), len(body))
        entry["platform"] = {"architecture": arch, "os": os_name}
        manifests.append(entry)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    return registry.push_manifest(tag, index)


def hostile_layer(args):
    """A tar whose entries try to reach outside the directory it is unpacked in.

    TarInfo entries added with addfile keep their names exactly, unlike
    TarFile.add, which would strip a leading slash.
    """
    entries = []

    def entry(name, kind=tarfile.REGTYPE, data=None, mode=0o644, **fields):
        info = tarfile.TarInfo(name)
        info.type, info.mode = kind, mode
        for field, value in fields.items():
            setattr(info, field, value)
        entries.append((info, data))

    if args.kind == "dotdot":
        entry("../../escaped.txt", data=b"escaped\n")
        entry("ok.txt", data=b"ok\n")
    elif args.kind == "symlink":
        entry("link", tarfile.SYMTYPE, linkname="../../../../etc", mode=0o777)
        entry("link/escaped.txt", data=b"escaped\n")
    elif args.kind == "absolute":
        entry("/abs-escaped.txt", data=b"escaped\n")
    elif args.kind == "hardlink":
        entry("passwd", tarfile.LNKTYPE, linkname="../../etc/passwd")
    elif args.kind == "device":
        entry("dev", tarfile.DIRTYPE, mode=0o755)
        entry("dev/null2", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)

    with tarfile.open(args.out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            add_entry(tar, info, data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", help="USER:PASSWORD for basic auth")
    commands = parser.add_subparsers(dest="command", required=True)

    artifact = commands.add_parser("artifact", help="push a wasm OCI artifact")
    artifact.add_argument("registry")
    artifact.add_argument("name_tag")
    artifact.add_argument("wasm")
    artifact.set_defaults(run=push_artifact)

    image = commands.add_parser("image", help="push a regular image holding files")
    image.add_argument("registry")
    image.add_argument("name_tag")
    image.add_argument("--os", default="wasi")
    image.add_argument("--arch", default="wasm")
    image.add_argument("--entrypoint", nargs="*")
    image.add_argument("--cmd", nargs="*")
    image.add_argument("--env", nargs="+", action="extend", default=[], metavar="K=V")
    image.add_argument("--workdir")
    image.add_argument("--label", nargs="+", action="extend", default=[], metavar="K=V")
    image.add_argument("--created", help="the config's time, RFC 3339 (default: now)")
    image.add_argument("--volume", nargs="+", action="extend", default=[], metavar="PATH")
    image.add_argument("--file", nargs="+", action="extend", default=[], metavar="GUESTPATH=HOSTPATH")
    image.add_argument("--owner", nargs="+", action="extend", default=[], metavar="GUESTPATH=UID:GID:MODE")
    image.add_argument("--raw-layer", nargs="+", action="extend", default=[], metavar="LAYER.tar")
    image.add_argument("--docker", action="store_true", help="Docker v2 schema 2 media types")
    image.add_argument("--zstd", action="store_true", help="zstd-compressed layers (needs the zstd tool)")
    image.set_defaults(run=push_image)

    index = commands.add_parser("index", help="push an OCI image index")
    index.add_argument("registry")
    index.add_argument("name_tag")
    index.add_argument("--manifest", nargs="+", action="extend", required=True, metavar="DIGEST=OS/ARCH")
    index.set_defaults(run=push_index)

    hostile = commands.add_parser("hostile-layer", help="write a tar that tries to escape")
    hostile.add_argument("out")
    hostile.add_argument("kind", choices=["dotdot", "symlink", "absolute", "hardlink", "device"])
    hostile.set_defaults(run=hostile_layer)

    args = parser.parse_args()
    digest = args.run(args)
    if digest:
        print(digest)


if __name__ == "__main__":
    main()
