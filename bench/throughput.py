"""
Measure Gatehouse's throughput as ratios, each pair side by side in one run.

    .venv/bin/python bench/throughput.py [--seconds 10] [--workers 5]

It needs PostgreSQL and Redis (defaults: the servers on 127.0.0.1) and wrk
(Debian's `wrk` package) as the load generator, a process apart from the
server. It creates a database of its own, serves Gatehouse with gunicorn on a
loopback port, and prints one JSON report:

- protected endpoints against the public ping on the same server, in several
  interleaved rounds, reported as the median of the rounds' ratios;
- the token endpoint against the raw signing rate of the same key, with as
  many signing processes as server workers, for RS256 and ES256, and the
  public ping against the same rates, the ceiling for any Django endpoint;
- the token endpoint with 10,000 APIs and 100,000 applications registered
  against the same with the bootstrap registry (1 API, 2 applications),
  measured before the large registry is added and again after it is removed;
- the peak resident memory of a gunicorn worker;
- the token endpoint recording every token against the same without records.
"""

import argparse
import base64
import json
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import support
from support import PYTHON, ROOT

PING = "https://ping.example.com/api"
ES256_API = "https://es256.bench.example.com/"


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="Per measurement.")
    parser.add_argument("--workers", type=int, default=2 * os.cpu_count() + 1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rounds", type=int, default=3, help="Rounds of the protected endpoints."
    )
    parser.add_argument("--port", type=int, default=8711)
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/gatehouse_bench_throughput",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    return parser.parse_args()


def environment(arguments):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "GATEHOUSE_KEY_ENCRYPTION_KEY": "YmVuY2gta2V5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": arguments.database_url,
        "REDIS_URL": arguments.redis_url,
        "GATEHOUSE_ISSUER": f"http://127.0.0.1:{arguments.port}/",
        "LOG_LEVEL": "WARNING",
        # The benchmark sends thousands of token requests from one address.
        "GATEHOUSE_AUTH_FAILURES_PER_ADDRESS": "1000000",
    }


def manage(arguments, *command):
    return support.manage(environment(arguments), *command, timeout=600)


def shell(arguments, code):
    """Run Python code with Django set up against the benchmark database."""
    return manage(arguments, "shell", "--no-imports", "-c", code)


def recreate_database(arguments):
    support.recreate_database(arguments.database_url, arguments.redis_url)


def start_server(arguments, **extra_env):
    server = subprocess.Popen(
        [
            str(Path(PYTHON).with_name("gunicorn")),
            "project.wsgi",
            "--bind",
            f"127.0.0.1:{arguments.port}",
            "--workers",
            str(arguments.workers),
        ],
        cwd=ROOT,
        env=environment(arguments) | extra_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(
                f"http://127.0.0.1:{arguments.port}/healthz", timeout=1
            )
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not start.")


def wrk(arguments, path, *, headers=(), script=None):
    """Return the requests per second that wrk measured, and the errors."""
    command = [
        "wrk",
        "--threads",
        "2",
        "--connections",
        str(arguments.connections),
        "--duration",
        f"{arguments.seconds}s",
    ]
    for header in headers:
        command += ["--header", header]
    if script:
        command += ["--script", script]
    command.append(f"http://127.0.0.1:{arguments.port}{path}")
    output = subprocess.run(
        command, capture_output=True, text=True, timeout=arguments.seconds + 60
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, int(errors.group(1)) if errors else 0


def token_script(directory, client_id, secret, audience):
    """Write a wrk Lua script that POSTs a client credentials request."""
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    body = f"grant_type=client_credentials&audience={audience}"
    path = Path(directory) / f"token-{abs(hash(audience))}.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        f'wrk.headers["Authorization"] = "Basic {basic}"\n'
    )
    return str(path)


def _sign_for(seconds, algorithm):
    """Count signatures of one token's claims in `seconds` (one process)."""
    import django

    django.setup()
    import jwt

    from apis.keys import key_ring

    key = key_ring.signing_key(algorithm)
    claims = {"iss": "x", "sub": "c@clients", "aud": PING, "iat": 0, "exp": 1}
    headers = {"kid": key.kid, "typ": "at+jwt"}
    count = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        jwt.encode(claims, key.private_key, algorithm=algorithm, headers=headers)
        count += 1
    return count


def raw_signing_rate(arguments, algorithm):
    """Signatures per second with as many processes as server workers."""
    os.environ.update(environment(arguments))
    sys.path.insert(0, str(ROOT))
    with multiprocessing.get_context("spawn").Pool(arguments.workers) as pool:
        counts = pool.starmap(
            _sign_for, [(arguments.seconds, algorithm)] * arguments.workers
        )
    return sum(counts) / arguments.seconds


def worker_peak_memory(server):
    """Return the largest VmHWM of the server's worker processes, in MiB."""
    peaks = []
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    for pid in children.read_text().split():
        status = Path(f"/proc/{pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            peaks.append(int(match.group(1)) / 1024)
    return round(max(peaks), 1) if peaks else None


def create_large_registry(arguments):
    shell(
        arguments,
        "from apis.models import API, Application\n"
        "API.objects.bulk_create([API(name=f'API {i}', identifier=f'urn:bench:{i}')"
        " for i in range(10000)], batch_size=2000)\n"
        "Application.objects.bulk_create([Application(name=f'App {i}',"
        " client_id=f'bench{i:027d}', client_secret_hash='unused')"
        " for i in range(100000)], batch_size=5000)\n",
    )


def remove_large_registry(arguments):
    shell(
        arguments,
        "from apis.models import API, Application\n"
        "Application.objects.filter(client_id__startswith='bench').delete()\n"
        "API.objects.filter(identifier__startswith='urn:bench:').delete()\n",
    )


def ratio(value, base):
    return round(value / base, 3) if base else None


def main():
    arguments = parse_arguments()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    recreate_database(arguments)
    manage(arguments, "migrate", "--noinput")
    manage(arguments, "bootstrap")
    credentials = json.loads(
        manage(
            arguments,
            "create_application",
            "Bench client",
            "--api",
            PING,
            "--scope",
            "read:messages",
            "--scope",
            "create:messages",
            "--json",
        )
    )
    client_id, secret = credentials["client_id"], credentials["client_secret"]
    report = {"workers": arguments.workers, "seconds": arguments.seconds}
    directory = tempfile.mkdtemp()
    server = start_server(arguments)
    try:
        token = json.loads(
            urllib.request.urlopen(
                urllib.request.Request(
                    f"http://127.0.0.1:{arguments.port}/oauth/token",
                    data=b"grant_type=client_credentials",
                    headers={
                        "Authorization": "Basic "
                        + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
                    },
                ),
                timeout=10,
            ).read()
        )["access_token"]
        bearer = [f"Authorization: Bearer {token}"]

        # Each round compares the protected endpoints with the public ping
        # measured just before and just after them, so drift in the machine's
        # load falls on both sides of each ratio.
        pings, secure_ratios, messages_ratios = [], [], []
        report["protected_errors"] = 0
        ping_before, _ = wrk(arguments, "/api/ping")
        for _ in range(arguments.rounds):
            secure, secure_errors = wrk(arguments, "/api/ping/secure", headers=bearer)
            messages, messages_errors = wrk(arguments, "/api/messages", headers=bearer)
            ping_after, _ = wrk(arguments, "/api/ping")
            ping_mean = (ping_before + ping_after) / 2
            pings.append(ping_mean)
            secure_ratios.append(ratio(secure, ping_mean))
            messages_ratios.append(ratio(messages, ping_mean))
            report["protected_errors"] += secure_errors + messages_errors
            ping_before = ping_after
        ping_mean = statistics.median(pings)
        report["ping_per_second"] = round(ping_mean)
        report["secure_ratio"] = statistics.median(secure_ratios)
        report["secure_ratios"] = secure_ratios
        report["messages_ratio"] = statistics.median(messages_ratios)
        report["messages_ratios"] = messages_ratios

        rs256_script = token_script(directory, client_id, secret, PING)
        token_rs256, rs256_errors = wrk(arguments, "/oauth/token", script=rs256_script)
        raw_rs256 = raw_signing_rate(arguments, "RS256")
        report["token_rs256_per_second"] = round(token_rs256)
        report["raw_rs256_signatures_per_second"] = round(raw_rs256)
        report["token_vs_signing_rs256"] = ratio(token_rs256, raw_rs256)
        report["ping_vs_signing_rs256"] = ratio(ping_mean, raw_rs256)

        shell(
            arguments,
            "from apis.models import API, Application\n"
            "from apis.services import create_api\n"
            f"api = create_api(name='ES256 bench', identifier='{ES256_API}',"
            " signing_algorithm='ES256')\n"
            f"Application.objects.get(client_id='{client_id}').grants.create(api=api)\n",
        )
        es256_script = token_script(directory, client_id, secret, ES256_API)
        token_es256, es256_errors = wrk(arguments, "/oauth/token", script=es256_script)
        raw_es256 = raw_signing_rate(arguments, "ES256")
        report["token_es256_per_second"] = round(token_es256)
        report["raw_es256_signatures_per_second"] = round(raw_es256)
        report["token_vs_signing_es256"] = ratio(token_es256, raw_es256)
        report["ping_vs_signing_es256"] = ratio(ping_mean, raw_es256)

        create_large_registry(arguments)
        token_large, large_errors = wrk(arguments, "/oauth/token", script=rs256_script)
        report["worker_peak_memory_mib"] = worker_peak_memory(server)
        remove_large_registry(arguments)
        token_small, small_errors = wrk(arguments, "/oauth/token", script=rs256_script)
        token_small_mean = (token_rs256 + token_small) / 2
        report["token_large_registry_per_second"] = round(token_large)
        report["token_small_registry_per_second"] = round(token_small_mean)
        report["large_registry_ratio"] = ratio(token_large, token_small_mean)
        report["token_errors"] = (
            rs256_errors + es256_errors + large_errors + small_errors
        )
    finally:
        server.terminate()
        server.wait(timeout=30)

    # The same token requests, on the bootstrap registry again, against a
    # server that keeps no token records: what recording costs.
    server = start_server(arguments, GATEHOUSE_RECORD_TOKENS="0")
    try:
        token_unrecorded, unrecorded_errors = wrk(
            arguments, "/oauth/token", script=rs256_script
        )
        report["token_without_records_per_second"] = round(token_unrecorded)
        report["records_ratio"] = ratio(token_small_mean, token_unrecorded)
        report["token_errors"] += unrecorded_errors
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
