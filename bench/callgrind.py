"""What bench/run.py and bench/base64_bench.py read from a callgrind profile."""

import os


def total_instructions(profile):
    """The profile's total instructions (Ir), or None when it is missing or unreadable. The file
    is removed once read."""
    ir = None
    try:
        with open(profile) as f:
            for line in f:
                if line.startswith(("totals:", "summary:")):
                    ir = int(line.split()[1])
        os.unlink(profile)
    except (OSError, ValueError, IndexError):
        pass
    return ir
