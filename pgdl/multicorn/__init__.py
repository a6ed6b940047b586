"""The Multicorn2 API that pgdl's foreign tables are written against.

When the real multicorn2 Python package is installed, its classes are used;
otherwise pgdl's compatible implementation.  The dispatcher also makes
`import multicorn` and `import multicorn.utils` resolve here when the real
package is absent, so a class written for multicorn2 runs unchanged.
"""

try:
    from multicorn import (  # noqa: F401
        ALL, ANY, ColumnDefinition, ForeignDataWrapper, Qual, SortKey, TableDefinition,
        TransactionAwareForeignDataWrapper,
    )
    REAL_MULTICORN = True
except ImportError:
    from pgdl.multicorn.api import (  # noqa: F401
        ALL, ANY, ColumnDefinition, ForeignDataWrapper, Qual, SortKey, TableDefinition,
        TransactionAwareForeignDataWrapper,
    )
    REAL_MULTICORN = False

from pgdl.multicorn.utils import log_to_postgres  # noqa: F401,E402
# pgdl's additions, declared in pgdl.multicorn.extensions
from pgdl.multicorn.extensions import Segment  # noqa: F401,E402
