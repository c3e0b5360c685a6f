"""docker-py (the PyPI `docker` package), unchanged, driving wbox's Engine
API. tests/engine_api.rs starts the service and a registry and runs this
suite with DOCKER_HOST pointing at the service; WBOX_PROBE_IMAGE names the
probe guest (tests/guests/probe.c) as an image in that registry,
WBOX_BUSYBOX_IMAGE a native busybox image there, and WBOX_REGISTRY the
registry. The networks test needs root, as CI runs."""

import os
import time
import urllib.request

import docker
import pytest

PROBE = os.environ["WBOX_PROBE_IMAGE"]
BUSYBOX = os.environ["WBOX_BUSYBOX_IMAGE"]
REGISTRY = os.environ["WBOX_REGISTRY"]


@pytest.fixture(scope="module")
def client():
    client = docker.from_env()
    client.images.pull(PROBE)
    client.images.pull(BUSYBOX)
    yield client
    client.close()


def test_ping_and_version(client):
    assert client.ping()
    assert client.version()["ApiVersion"] == "1.44"


def test_run_returns_the_output(client):
    assert client.containers.run(PROBE, ["args", "a b"], remove=True) == b"[/app.wasm]\n[args]\n[a b]\n"


def test_a_failing_program_raises_with_its_exit_code(client):
    with pytest.raises(docker.errors.ContainerError) as failed:
        client.containers.run(PROBE, ["exit", "3"], remove=True)
    assert failed.value.exit_status == 3


def test_detach_logs_wait_and_remove(client):
    container = client.containers.run(PROBE, ["tick", "3"], detach=True, labels={"team": "a"}, name="ticker")
    assert container.wait()["StatusCode"] == 0
    assert container.logs(stdout=True, stderr=False) == b"tick 1\ntick 2\ntick 3\n"
    # An attachment that asks for the logs of an ended container gets them.
    assert container.attach(stdout=True, stderr=False, stream=False, logs=True) == b"tick 1\ntick 2\ntick 3\n"
    container.reload()
    assert (container.status, container.name, container.labels["team"]) == ("exited", "ticker", "a")
    listed = client.containers.list(all=True, filters={"label": "team=a"})
    assert [c.id for c in listed] == [container.id]
    container.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(container.id)


def test_stop_a_running_container(client):
    container = client.containers.run(PROBE, ["sleep", "60"], detach=True)
    container.reload()
    assert container.status == "running"
    container.stop(timeout=1)
    container.reload()
    assert (container.status, container.attrs["State"]["ExitCode"]) == ("exited", 137)
    container.remove()


def test_environment_and_binds(client, tmp_path):
    out = client.containers.run(PROBE, ["env"], environment={"GREETING": "hi"}, remove=True)
    assert b"GREETING=hi\n" in out
    (tmp_path / "in.txt").write_text("from the host")
    binds = {str(tmp_path): {"bind": "/data", "mode": "ro"}}
    assert client.containers.run(PROBE, ["show", "/data/in.txt"], volumes=binds, remove=True) == b"from the host"
    with pytest.raises(docker.errors.ContainerError):
        client.containers.run(PROBE, ["write", "/data/out.txt", "x"], volumes=binds, remove=True)
    assert not (tmp_path / "out.txt").exists()


def test_named_volumes(client):
    volume = client.volumes.create("pydata", labels={"k": "v"})
    client.containers.run(PROBE, ["write", "/v/f", "kept"], volumes=["pydata:/v"], remove=True)
    assert client.containers.run(PROBE, ["show", "/v/f"], volumes=["pydata:/v"], remove=True) == b"kept"
    assert [v.name for v in client.volumes.list(filters={"label": "k=v"})] == ["pydata"]
    assert client.volumes.get("pydata").attrs["Labels"] == {"k": "v"}
    volume.remove()
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get("pydata")


def test_images_tag_list_and_remove(client):
    image = client.images.get(PROBE)
    assert PROBE in image.tags
    assert image.tag("pyprobe", "t1")
    assert client.images.get("pyprobe:t1").id == image.id
    assert "pyprobe:t1" in [tag for i in client.images.list() for tag in i.tags]
    client.images.remove("pyprobe:t1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("pyprobe:t1")


def test_build_and_push(client, tmp_path):
    probe = os.environ["WBOX_PROBE_WASM"]
    (tmp_path / "probe.wasm").write_bytes(open(probe, "rb").read())
    (tmp_path / "Dockerfile").write_text('FROM scratch\nCOPY probe.wasm /app.wasm\nENTRYPOINT ["/app.wasm"]\n')
    name = f"{REGISTRY}/pybuilt"
    image, logs = client.images.build(path=str(tmp_path), tag=f"{name}:1")
    assert any("Successfully built" in line.get("stream", "") for line in logs)
    assert f"{name}:1" in image.tags
    assert client.containers.run(f"{name}:1", ["args"], remove=True) == b"[/app.wasm]\n[args]\n"
    pushed = list(client.images.push(name, "1", stream=True, decode=True))
    assert any("aux" in line for line in pushed), pushed
    client.images.remove(f"{name}:1")
    assert client.images.pull(name, "1").tags == [f"{name}:1"]


def test_errors_are_dockers(client):
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("no-such-container")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("no-such-image:1")
    with pytest.raises(docker.errors.APIError):
        client.containers.run(PROBE, ["args"], network_mode="no-such-network", remove=True)


def test_published_ports(client):
    container = client.containers.run(
        BUSYBOX, ["httpd", "-f", "-p", "8080", "-h", "/var/www"], detach=True, ports={"8080/tcp": None}
    )
    try:
        container.reload()
        port = container.ports["8080/tcp"][0]["HostPort"]
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as answer:
                    assert answer.read() == b"hello from busybox httpd\n"
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"nothing answered on port {port}")
    finally:
        container.remove(force=True)


def test_networks_by_name_and_in_use(client):
    network = client.networks.create("pynet", labels={"tier": "back"})
    server = client.containers.run(
        BUSYBOX, ["sh", "-c", "while true; do echo hi | nc -l -p 9000; done"], detach=True, name="pyserver", network="pynet"
    )
    try:
        assert [n.name for n in client.networks.list(filters={"label": "tier=back"})] == ["pynet"]
        network.reload()
        assert [c.name for c in network.containers] == ["pyserver"]
        fetch = "for i in $(seq 30); do nc -w 2 pyserver 9000 && exit 0; sleep 0.2; done; exit 1"
        assert client.containers.run(BUSYBOX, ["sh", "-c", fetch], network="pynet", remove=True) == b"hi\n"
        with pytest.raises(docker.errors.APIError) as refused:
            network.remove()
        assert refused.value.status_code == 403
    finally:
        server.remove(force=True)
    network.remove()
    assert client.networks.list(names=["pynet"]) == []


def test_detach_keys_end_an_attachment(client):
    container = client.containers.run(BUSYBOX, ["cat"], detach=True, stdin_open=True, tty=True)
    try:
        sock = container.attach_socket(params={"stdin": 1, "stream": 1, "detachKeys": "ctrl-x,y"})
        sock = sock._sock
        sock.sendall(b"\x18y")
        time.sleep(0.5)
        sock.settimeout(5)
        assert sock.recv(128) == b""
        container.reload()
        assert container.status == "running"
    finally:
        container.remove(force=True)
