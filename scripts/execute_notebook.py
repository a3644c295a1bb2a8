"""Execute one notebook headless with nbclient; used by scripts/notebooks.ts.

Why not `jupyter nbconvert --execute`: on a cell error it neither writes the
executed copy nor shows the cell's stderr, and tslab reports a thrown error's
message on stderr (the error reply itself is an empty "<Error>"). This writes
the partly executed copy and prints the failing cell with its output.

usage: execute_notebook.py SRC OUT KERNEL_NAME TIMEOUT_SECONDS
"""
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def text_of(output):
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "%s: %s" % (output.get("ename", ""), output.get("evalue", ""))
    return ""


# tslab's kernel can die while starting: zeromq answers a kernel_info request
# that arrives during its socket bind with EBUSY, and the kernel never becomes
# ready. Nothing has run then, so starting it again is safe.
START_ATTEMPTS = 3


def main():
    src, out, kernel, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    failed = None
    for attempt in range(1, START_ATTEMPTS + 1):
        nb = nbformat.read(src, as_version=4)
        client = NotebookClient(nb, kernel_name=kernel, timeout=timeout,
                                resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}})
        try:
            failed = run(client, nb)
            break
        except RuntimeError as e:
            started = any(c.get("outputs") or "execution" in c.get("metadata", {}) for c in nb.cells)
            if started or attempt == START_ATTEMPTS:
                raise
            print("kernel did not start (%s); attempt %d of %d" % (e, attempt + 1, START_ATTEMPTS), file=sys.stderr)
    nbformat.write(nb, out)
    if failed is None:
        return 0
    if failed >= 0:
        cell = nb.cells[failed]
        print("cell %d failed:" % failed, file=sys.stderr)
        print("---- source ----\n%s" % cell.source, file=sys.stderr)
        text = "".join(text_of(o) for o in cell.get("outputs", []))
        print("---- output (last 40 lines) ----\n%s" % "\n".join(text.splitlines()[-40:]), file=sys.stderr)
    return 1


def run(client, nb):
    """Execute all cells; None on success, else the index of the failing cell (-1: unknown)."""
    failed = None
    try:
        client.execute()
    except CellExecutionError:
        # The failing cell is the last one the kernel ran (tslab's error
        # reply may carry no error output, only the message on stderr).
        ran = [i for i, c in enumerate(nb.cells)
               if c.cell_type == "code" and (c.get("outputs") or "execution" in c.get("metadata", {}))]
        failed = ran[-1] if ran else -1
    return failed


if __name__ == "__main__":
    sys.exit(main())
