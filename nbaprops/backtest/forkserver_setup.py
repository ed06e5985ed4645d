"""Imported by the fold pool's fork server only (executor.forkserver_preload), never elsewhere.

The server preloads the parent's main module by name, so a worker that re-runs it as
`__mp_main__` (as multiprocessing does under `python -m`) finds it in sys.modules and runpy
warns that this "may result in unpredictable behaviour". The re-run only defines the module's
functions again (its `if __name__ == "__main__"` block does not run), so the warning is
silenced in the workers, which inherit the server's filters, and nowhere else.
"""

from __future__ import annotations

import warnings

warnings.filterwarnings(
    "ignore",
    message=r".* found in sys\.modules after import of package",
    category=RuntimeWarning,
    module="runpy",
)
