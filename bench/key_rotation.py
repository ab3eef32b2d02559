"""
Rotate and revoke signing keys while two Gatehouse processes serve the ping API
under load, and count the requests that fail.

    .venv/bin/python bench/key_rotation.py [--seconds 30] [--rotate-every 3]

It needs PostgreSQL and Redis (defaults: the servers on 127.0.0.1), creates a
database of its own, starts two servers on loopback ports, and sends requests
from this process with tokens from both. Every few seconds a third process
rotates the RS256 keys; after the third rotation it revokes the oldest previous
key and measures how long each server keeps accepting that key's tokens.

A valid token must never be refused: the script exits 1 when any request with
a valid token fails, or when a revoked key's tokens are still accepted after
the documented bound (the key ring's version check, 1 second, plus a margin).
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import support
from support import PYTHON, ROOT

REVOCATION_BOUND_SECONDS = 1.0
# Request time and scheduling on a loaded two-core machine, on top of the bound.
REVOCATION_MARGIN_SECONDS = 1.0


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="Load duration.")
    parser.add_argument(
        "--rotate-every", type=float, default=3, help="Seconds between rotations."
    )
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/gatehouse_bench",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--ports", type=int, nargs=2, default=[8701, 8702])
    return parser.parse_args()


def environment(arguments):
    # Both servers sign with one issuer, as instances behind a load balancer.
    issuer = f"http://127.0.0.1:{arguments.ports[0]}/"
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "GATEHOUSE_KEY_ENCRYPTION_KEY": "YmVuY2gta2V5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": arguments.database_url,
        "REDIS_URL": arguments.redis_url,
        "GATEHOUSE_ISSUER": issuer,
        "LOG_LEVEL": "WARNING",
    }


def manage(arguments, *command):
    return support.manage(environment(arguments), *command, timeout=120)


def recreate_database(arguments):
    support.recreate_database(arguments.database_url, arguments.redis_url)


def start_server(arguments, port):
    return subprocess.Popen(
        [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=environment(arguments),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until_up(port):
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ping", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"The server on port {port} did not start.")


def request(url, token=None, data=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = None
    if data is not None:
        body = data.encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=body, headers=headers), timeout=10
        ) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get_token(port, client_id, secret):
    status, body = request(
        f"http://127.0.0.1:{port}/oauth/token",
        data=(
            f"grant_type=client_credentials&client_id={client_id}"
            f"&client_secret={secret}"
        ),
    )
    if status != 200:
        return None
    return json.loads(body)["access_token"]


def kid_of(token):
    import jwt

    return jwt.get_unverified_header(token)["kid"]


class Load:
    """Requests from threads, each with the newest token it holds."""

    def __init__(self, ports, client_id, secret):
        self.ports = ports
        self.client_id = client_id
        self.secret = secret
        self.tokens = [get_token(port, client_id, secret) for port in ports]
        self.requests = 0
        self.failures = []
        self.token_failures = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def run(self, index):
        port = self.ports[index % 2]
        other = self.ports[(index + 1) % 2]
        sent = 0
        while not self.stop.is_set():
            sent += 1
            if sent % 10 == 0:
                # A fresh token from one server, checked by the other one.
                token = get_token(other, self.client_id, self.secret)
                if token is None:
                    with self.lock:
                        self.token_failures += 1
                    continue
                self.tokens[index % 2] = token
            token = self.tokens[index % 2]
            status, body = request(f"http://127.0.0.1:{port}/api/ping/secure", token)
            with self.lock:
                self.requests += 1
                if status != 200:
                    self.failures.append((port, status, kid_of(token), body[:200]))


def measure_revocation(ports, token):
    """Return, per port, the seconds until the token stops working."""
    started = time.monotonic()
    accepted_for = {}
    while len(accepted_for) < len(ports) and time.monotonic() - started < 30:
        for port in ports:
            if port in accepted_for:
                continue
            status, _ = request(f"http://127.0.0.1:{port}/api/ping/secure", token)
            if status == 401:
                accepted_for[port] = time.monotonic() - started
        time.sleep(0.02)
    return accepted_for


def main():
    arguments = parse_arguments()
    recreate_database(arguments)
    manage(arguments, "migrate", "--noinput")
    manage(arguments, "bootstrap")
    credentials = json.loads(
        manage(
            arguments,
            "create_application",
            "Bench client",
            "--api",
            "https://ping.example.com/api",
            "--json",
        )
    )
    servers = [start_server(arguments, port) for port in arguments.ports]
    try:
        for port in arguments.ports:
            wait_until_up(port)
        load = Load(
            arguments.ports, credentials["client_id"], credentials["client_secret"]
        )
        oldest_token = load.tokens[0]
        threads = [threading.Thread(target=load.run, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()

        rotations = 0
        revocation = None
        revoked_kids = set()
        deadline = time.monotonic() + arguments.seconds
        while time.monotonic() < deadline:
            time.sleep(arguments.rotate_every)
            manage(arguments, "rotate_signing_keys", "--yes", "--force")
            rotations += 1
            if rotations == 3 and revocation is None:
                revoked_kid = kid_of(oldest_token)
                manage(arguments, "revoke_signing_key", revoked_kid, "--yes")
                revocation = measure_revocation(arguments.ports, oldest_token)
                # A request that still carried a token of the revoked key was
                # meant to fail; only valid tokens count.
                with load.lock:
                    load.failures = [f for f in load.failures if f[2] != revoked_kid]
                revoked_kids.add(revoked_kid)

        load.stop.set()
        for thread in threads:
            thread.join()
        load.failures = [f for f in load.failures if f[2] not in revoked_kids]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)

    bound = REVOCATION_BOUND_SECONDS + REVOCATION_MARGIN_SECONDS
    report = {
        "seconds": arguments.seconds,
        "rotations": rotations,
        "requests": load.requests,
        "failed_requests": len(load.failures),
        "failed_token_requests": load.token_failures,
        "revocation_seconds_by_port": revocation,
        "revocation_bound_seconds": bound,
    }
    print(json.dumps(report, indent=2))
    if load.failures:
        print("First failures:", load.failures[:5], file=sys.stderr)
    late = (
        revocation is None
        or any(seconds > bound for seconds in revocation.values())
        or len(revocation) < len(arguments.ports)
    )
    sys.exit(1 if load.failures or load.token_failures or late else 0)


if __name__ == "__main__":
    main()
