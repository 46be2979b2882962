"""The server process's heap after start-up, kept out of the garbage collector's full passes."""

import gc


def settle() -> None:
    """Move every object alive now (modules, FHIR models, routes, settings: a server's
    hundred-thousand-odd objects that live as long as it) into the collector's permanent
    generation. A full collection scans them all otherwise, which stalls every request in
    flight for 60-100 ms on a small machine; after this it scans only what was made since.

    Garbage is collected first, so nothing frozen is already unreachable. Objects frozen
    here are still freed by reference counting when released; a cycle among them that is
    dropped later stays until the process exits.
    """
    gc.collect()
    gc.freeze()
