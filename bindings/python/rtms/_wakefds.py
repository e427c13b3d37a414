"""Keeping a selector's registered wake fds in step with a set of clients (the EventLoop and Fleet)."""

import selectors
from typing import Any, Dict, Tuple


def _handle(client: Any) -> Any:
    """Which native handle of the client this is (NativeClient counts its allocations): a new
    handle, after a leave and a join, may get the number of the closed descriptor, whose
    registration the kernel dropped at the close (and even the freed handle's address)."""
    return getattr(client, "_allocations", None)


def sync_watched(selector: selectors.BaseSelector, watched: Dict[int, Tuple[Any, Any]], want: Dict[int, Any]) -> None:
    """Registers every fd of `want` (fd -> client) not yet in `watched` (fd -> (client, handle)),
    unregisters the rest, and registers again a client whose handle changed."""
    for fd, (c, h) in list(watched.items()):
        if want.get(fd) is not c or _handle(c) != h:
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
        watched[fd] = (c, _handle(c))
