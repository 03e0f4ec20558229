"""The live DynamoDB importer: read-only reads of an events table (and a runs table).

`connect` makes the botocore client (credential chain or profile, adaptive retries);
`import_dynamodb` plans Scan segments or per-run Queries from the key schema, reads pages on
worker threads and maps items through the shared attribute mapping of `importers.mapping`.
"""

from forensics.importers.dynamodb_live.client import READ_OPERATIONS, Connection, Target, connect
from forensics.importers.dynamodb_live.importer import SOURCE_KIND, LiveOptions, import_dynamodb
from forensics.importers.dynamodb_live.runs import RUN_ROLES

__all__ = [
    "READ_OPERATIONS",
    "RUN_ROLES",
    "SOURCE_KIND",
    "Connection",
    "LiveOptions",
    "Target",
    "connect",
    "import_dynamodb",
]
