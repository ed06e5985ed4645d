"""Real data as it comes: raw game logs and odds scrapes into the canonical data folder."""

from nbaprops.data.importing.report import ImportReport
from nbaprops.data.importing.run import DEFAULT_MAX_SET_ASIDE, ImportRefused, import_raw

__all__ = ["DEFAULT_MAX_SET_ASIDE", "ImportRefused", "ImportReport", "import_raw"]
