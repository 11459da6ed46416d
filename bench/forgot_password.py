"""Forgot-password answer times for a registered and an unknown address, through the web form in a
throwaway SQLite database (jobs left to run after the response, as without Redis). Prints the median and
p95 of each and their difference: the request does the same work either way, so they should match.

    .venv/bin/python bench/forgot_password.py [--requests 300]"""
import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade

from helpdesk import create_app
from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app("testing", {"INSTANCE_PATH": folder, "DATABASE_URL": "", "JOBS_INPROCESS": "after_response",
                                     "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
        with app.app_context():
            upgrade()
            accounts.create_user(SYSTEM, email="known@example.test", full_name="Known", role="customer",
                                 password="correct horse battery")  # noqa: S106 (a throwaway account)
        client = app.test_client()
        times = {"known@example.test": [], "unknown@example.test": []}
        for n in range(args.requests):
            for email in (times if n % 2 else reversed(list(times))):
                start = time.perf_counter()
                response = client.post("/forgot-password", data={"email": email})
                times[email].append((time.perf_counter() - start) * 1000)
                # The after-response job runs when the response is closed: not part of the answer time.
                response.close()
                assert re.search("we sent a link", response.get_data(as_text=True))
        for email, values in times.items():
            values.sort()
            p95 = values[int(len(values) * .95)]
            print(f"{email:24} median {statistics.median(values):6.2f} ms   p95 {p95:6.2f} ms")
        known, unknown = (statistics.median(v) for v in times.values())
        print(f"difference of the medians: {known - unknown:+.2f} ms")


if __name__ == "__main__":
    main()
