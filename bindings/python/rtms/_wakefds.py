"""Keeping a selector's registered wake fds in step with a set of clients (the EventLoop and Fleet)."""

import selectors
from typing import Any, Dict


def sync_watched(selector: selectors.BaseSelector, watched: Dict[int, Any], want: Dict[int, Any]) -> None:
    """Registers every fd of `want` (fd -> client) not yet in `watched`, unregisters the rest."""
    for fd, c in list(watched.items()):
        if want.get(fd) is not c:
            try:
                selector.unregister(fd)
            except (KeyError, ValueError, OSError):
                pass
            del watched[fd]
    for fd, c in want.items():
        if fd in watched:
            continue
        try:
            selector.register(fd, selectors.EVENT_READ, c)
        except KeyError:
            # A descriptor number reused after a close the selector missed.
            try:
                selector.unregister(fd)
                selector.register(fd, selectors.EVENT_READ, c)
            except (KeyError, ValueError, OSError):
                continue
        except (ValueError, OSError):
            continue
        watched[fd] = c
