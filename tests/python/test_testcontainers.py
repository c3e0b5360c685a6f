"""testcontainers (PyPI), unchanged, starting the hello-http wasm image
through wbox's Engine API, waiting for it, asking it, and stopping it.
tests/engine_api.rs runs it with DOCKER_HOST pointing at the service;
WBOX_HELLO_HTTP_IMAGE names the image in the service's store. Ryuk, the
reaper testcontainers starts from Docker Hub, is turned off
(TESTCONTAINERS_RYUK_DISABLED), and it reaches the container's ports on the
host (TESTCONTAINERS_CONNECTION_MODE=docker_host), as it does from outside a
container."""

import os
import time
import urllib.request

from testcontainers.core.container import DockerContainer

IMAGE = os.environ["WBOX_HELLO_HTTP_IMAGE"]


def get(url, deadline):
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.status, answer.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_wasm_http_service_in_a_docker_container():
    with DockerContainer(IMAGE).with_exposed_ports(80) as container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(80)
        status, body = get(f"http://{host}:{port}/", time.monotonic() + 60)
        assert status == 200
        assert body.startswith("Hello"), body
        name = container.get_wrapped_container().name
    client = container.get_docker_client().client
    assert name not in [c.name for c in client.containers.list(all=True)]
