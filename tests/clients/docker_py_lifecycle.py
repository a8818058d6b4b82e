#!/usr/bin/python3
"""docker-py (Debian's python3-docker) against berth's REST API: the lifecycle a Python
program drives. Run by tests/integration/docker_clients.rs with DOCKER_HOST set to the
service's socket and PREFIX a name prefix of its own; prints "ok STEP" per step, exits
non-zero at the first failure. Cleans up what it made even when a step fails.

--skip STEP[,STEP] leaves out steps (exec, archive, networks, build): for narrowing down a
failure by hand, and networks for a rootless service (berth has no rootless bridge yet).
"""

import argparse
import io
import os
import sys
import tarfile
import time

import docker

PREFIX = os.environ["PREFIX"]
parser = argparse.ArgumentParser()
parser.add_argument("--skip", default="")
args = parser.parse_args()
SKIP = {s for s in args.skip.split(",") if s}

client = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], timeout=60)


def ok(step):
    print("ok", step, flush=True)


def skipped(step):
    print("skip", step, flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def cleanup():
    for c in client.containers.list(all=True):
        if c.name.startswith(PREFIX):
            c.remove(force=True)
    for n in client.networks.list():
        if n.name.startswith(PREFIX):
            n.remove()
    for v in client.volumes.list():
        if v.name.startswith(PREFIX):
            v.remove(force=True)


def networks():
    """A bridge network of its own, a server on it, a client resolving it by name."""
    net = client.networks.create(PREFIX + "-net", driver="bridge", labels={"by": "docker-py"})
    check(net.attrs["Labels"] == {"by": "docker-py"}, net.attrs)
    check([n.name for n in client.networks.list(names=[net.name])] == [net.name], "networks.list")
    web = client.containers.run(
        "busybox",
        ["sh", "-c", "mkdir -p /www && echo py-dns > /www/index.html && exec httpd -f -p 80 -h /www"],
        detach=True,
        name=PREFIX + "-web",
        network=net.name,
    )
    web.reload()
    ip = web.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]
    check(ip, web.attrs["NetworkSettings"])
    net.reload()
    check(web.id in net.attrs["Containers"], net.attrs)
    deadline = time.time() + 30
    while True:
        try:
            out = client.containers.run(
                "busybox", ["wget", "-qO-", "http://%s-web/" % PREFIX], remove=True, network=net.name
            )
            break
        except docker.errors.ContainerError:
            check(time.time() < deadline, "no answer by name")
            time.sleep(0.2)
    check(out == b"py-dns\n", out)
    web.remove(force=True)
    net.remove()
    check(not client.networks.list(names=[net.name]), "network removed")
    ok("networks")


def main():
    check(client.ping(), "ping")
    check(client.version()["ApiVersion"], "version")
    ok("ping")

    tags = [t for i in client.images.list() for t in i.tags]
    check(any(t.endswith("busybox:latest") for t in tags), f"images.list: {tags}")
    check(client.images.get("busybox").attrs["Os"] == "linux", "images.get")
    ok("images")

    out = client.containers.run("busybox", ["echo", "hi"], remove=True)
    check(out == b"hi\n", out)
    ok("run")

    c = client.containers.run(
        "busybox",
        ["sh", "-c", "echo one; sleep 0.5; echo two; sleep 300"],
        detach=True,
        name=PREFIX + "-tail",
    )
    check(c.status in ("created", "running"), c.status)
    c.reload()
    check(c.status == "running", c.status)
    check(any(x.name == c.name for x in client.containers.list()), "containers.list")
    seen = b""
    for chunk in c.logs(stream=True, follow=True):
        seen += chunk
        if b"two\n" in seen:
            break
    check(seen == b"one\ntwo\n", seen)
    ok("logs-stream")

    if "exec" in SKIP:
        skipped("exec")
    else:
        code, out = c.exec_run(["sh", "-c", "echo from-exec; exit 3"])
        check((code, out) == (3, b"from-exec\n"), (code, out))
        ok("exec")

    if "archive" in SKIP:
        skipped("archive")
    else:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            data = b"put-by-python\n"
            info = tarfile.TarInfo("put.txt")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        check(c.put_archive("/tmp", buf.getvalue()), "put_archive")
        stream, stat = c.get_archive("/tmp/put.txt")
        check(stat["name"] == "put.txt", stat)
        got = tarfile.open(fileobj=io.BytesIO(b"".join(stream)))
        check(got.extractfile("put.txt").read() == b"put-by-python\n", "get_archive")
        ok("archive")

    c.stop(timeout=1)
    c.reload()
    check(c.status == "exited", c.status)
    c.remove()
    ok("stop-remove")

    if "networks" in SKIP:
        skipped("networks")
    else:
        networks()

    vol = client.volumes.create(PREFIX + "-vol", labels={"by": "docker-py"})
    check(client.volumes.get(vol.name).attrs["Labels"] == {"by": "docker-py"}, vol.attrs)
    check([v.name for v in client.volumes.list(filters={"label": "by=docker-py"})] == [vol.name], "volumes.list")
    mount = {vol.name: {"bind": "/data", "mode": "rw"}}
    client.containers.run("busybox", ["sh", "-c", "echo kept > /data/f"], volumes=mount, remove=True)
    check(client.containers.run("busybox", ["cat", "/data/f"], volumes=mount, remove=True) == b"kept\n", "volume data")
    vol.remove()
    check(not client.volumes.list(filters={"name": vol.name}), "volume removed")
    ok("volumes")

    if "build" in SKIP:
        skipped("build")
    else:
        dockerfile = io.BytesIO(b"FROM busybox\nRUN echo built > /built\n")
        image, _ = client.images.build(fileobj=dockerfile, tag=PREFIX + "-img:1", rm=True)
        out = client.containers.run(image.id, ["cat", "/built"], remove=True)
        check(out == b"built\n", out)
        client.images.remove(image.id, force=True)
        ok("build")


try:
    main()
finally:
    try:
        cleanup()
    except Exception as e:  # the first error is the one to see
        print("cleanup:", e, file=sys.stderr)
print("done", flush=True)
