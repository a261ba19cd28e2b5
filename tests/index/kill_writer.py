"""Child process for the kill test: index a synthetic stream batch by batch, reporting progress."""
from __future__ import annotations

import sys

from index.sqlite_backend import SqliteBackend
from testbed.synthetic_index import iter_snapshot_batches


def main(path: str, n: int, batch: int) -> None:
    backend = SqliteBackend(path)
    for number, records in enumerate(iter_snapshot_batches(n, batch=batch), start=1):
        backend.write(records)
        print(number, flush=True)
    backend.close()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
