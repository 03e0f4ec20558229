"""The DynamoDB connection of the live importer: one botocore client, and its failures in words.

The client uses the default credential chain (or a named profile), botocore's adaptive retry
mode (client-side rate limiting that backs off on throttling), and a pool wide enough for one
connection per scan segment. Scan and Query responses skip botocore's shape-walking parser: a
`before-parse` hook reads the body with orjson and hands the typed items over as they came
(`B` values stay base64 text, which the shared mapping reads), which is most of the client's
CPU time on a large table. Every botocore failure becomes one `ForensicsError` line that says
what to try; credentials never appear in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import orjson

from forensics.errors import ForensicsError, InputError, SourceError, UsageError

RAW_PAGE: Final = "ForensicsRawPage"  # where the hook leaves the parsed body
READ_OPERATIONS: Final = ("DescribeTable", "Query", "Scan")
STREAM_OPERATIONS: Final = ("DescribeStream", "GetShardIterator", "GetRecords")
LOCAL_REGION: Final = "us-east-1"  # local servers need a signing region, any will do
_AUTH_CODES: Final = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "InvalidClientTokenId",
        "IncompleteSignature",
        "IncompleteSignatureException",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
    }
)
_EXPIRED_CODES: Final = frozenset({"ExpiredTokenException", "ExpiredToken", "RequestExpired"})
_THROTTLE_CODES: Final = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


@dataclass(frozen=True)
class Target:
    """Where the tables are: region, optional profile and endpoint (never any secret)."""

    table: str
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = 10
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    @property
    def endpoint_shown(self) -> str | None:
        """The endpoint URL without any user:password part."""
        return strip_userinfo(self.endpoint_url) if self.endpoint_url else None


@dataclass
class Connection:
    """A botocore DynamoDB client plus what is needed to word its failures."""

    client: Any
    target: Target
    region: str
    secrets: tuple[str, ...] = field(default=(), repr=False)
    session: Any = field(default=None, repr=False)
    config: Any = field(default=None, repr=False)
    _streams: Any = field(default=None, repr=False)

    def where(self) -> str:
        """`region us-east-1` or `endpoint http://…` for messages."""
        shown = self.target.endpoint_shown
        return f"endpoint {shown} (region {self.region})" if shown else f"region {self.region}"

    def location(self, table: str) -> str:
        """The import's source location: `dynamodb:<region>:<table>[@endpoint]`."""
        shown = self.target.endpoint_shown
        return f"dynamodb:{self.region}:{table}" + (f"@{shown}" if shown else "")

    def streams(self) -> Any:
        """A DynamoDB Streams client on the same credentials, endpoint and retry settings
        (made on first use; its GetRecords bodies are read like Scan pages)."""
        if self._streams is None:
            try:
                client = self.session.client(
                    "dynamodbstreams",
                    region_name=self.region,
                    endpoint_url=self.target.endpoint_url,
                    config=self.config,
                )
            except Exception as exc:
                raise explain(exc, self, self.target.table, "connect") from None
            client.meta.events.register("before-parse.dynamodbstreams.GetRecords", _read_raw_page)
            self._streams = client
        return self._streams

    def call(self, operation: str, table: str, **params: Any) -> dict[str, Any]:
        """One read call (`describe_table`, `query`, `scan`); failures become ForensicsErrors."""
        try:
            response: dict[str, Any] = getattr(self.client, operation)(TableName=table, **params)
        except Exception as exc:
            raise explain(exc, self, table, operation) from None
        return response


def strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def connect(target: Target, segments: int = 1) -> Connection:
    """A client for `target`; fails early, in words, without a region or credentials."""
    import boto3
    import botocore.exceptions as bx
    from botocore.config import Config

    try:
        session = boto3.session.Session(profile_name=target.profile, region_name=target.region)
    except bx.ProfileNotFound:
        raise UsageError(
            f"AWS profile {target.profile!r} is not configured",
            hint="list profiles with `aws configure list-profiles`, or drop --profile",
        ) from None
    region = session.region_name or (LOCAL_REGION if target.endpoint_url else None)
    if not region:
        raise UsageError(
            "no AWS region given",
            hint="pass --region (e.g. --region us-east-1) or set AWS_DEFAULT_REGION",
        )
    config = Config(
        retries={"mode": "adaptive", "total_max_attempts": target.max_attempts},
        max_pool_connections=max(10, segments + 2),
        connect_timeout=target.connect_timeout,
        read_timeout=target.read_timeout,
        user_agent_extra="forensics-importer",
    )
    connection = Connection(None, target, region, session=session, config=config)
    try:
        credentials = session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials else None
        client = session.client(
            "dynamodb", region_name=region, endpoint_url=target.endpoint_url, config=config
        )
    except Exception as exc:
        raise explain(exc, connection, target.table, "connect") from None
    if frozen is None or not frozen.access_key:
        raise _no_credentials(target)
    connection.client = client
    connection.secrets = tuple(s for s in (frozen.secret_key, frozen.token, frozen.access_key) if s)
    for operation in ("Scan", "Query"):
        client.meta.events.register(f"before-parse.dynamodb.{operation}", _read_raw_page)
    return connection


def _read_raw_page(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """Parse a successful Scan/Query body with orjson; botocore then parses an empty object."""
    if response_dict.get("status_code") != 200:
        return  # errors go through botocore's parser, so retries and codes work as usual
    try:
        page = orjson.loads(response_dict["body"])
    except (orjson.JSONDecodeError, TypeError, KeyError):
        return  # let botocore report the unreadable body
    customized_response_dict[RAW_PAGE] = page
    response_dict["body"] = b"{}"


def _no_credentials(target: Target) -> SourceError:
    profile = f" for profile {target.profile!r}" if target.profile else ""
    return SourceError(
        f"no AWS credentials found{profile}",
        hint="pass --profile NAME or set AWS_PROFILE (SSO: `aws sso login --profile NAME`), "
        "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    )


def explain(exc: BaseException, conn: Connection, table: str, operation: str) -> ForensicsError:
    """One clear error for a botocore failure, with credentials scrubbed from its text."""
    if isinstance(exc, ForensicsError):
        return exc
    error = _explain(exc, conn, table, operation)
    error.message = scrub(error.message, conn.secrets)
    return error


def _explain(exc: BaseException, conn: Connection, table: str, operation: str) -> ForensicsError:
    import botocore.exceptions as bx

    where = conn.where()
    if isinstance(exc, bx.ClientError):
        return _client_error(exc, conn, table, operation)
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return _no_credentials(conn.target)
    if isinstance(exc, bx.TokenRetrievalError | bx.SSOError | bx.UnauthorizedSSOTokenError):
        return SourceError(
            "the AWS SSO session has expired or was never started",
            hint=f"run `aws sso login{_profile_flag(conn)}` and retry",
        )
    if isinstance(exc, bx.CredentialRetrievalError):
        return SourceError(
            f"the AWS credential provider failed: {exc}",
            hint="check the credential_process or role settings of the profile",
        )
    if isinstance(
        exc, bx.EndpointConnectionError | bx.ConnectTimeoutError | bx.ProxyConnectionError
    ):
        return SourceError(
            f"cannot reach DynamoDB at {where}",
            hint="check --endpoint-url and --region, and that the network or VPN is up",
        )
    if isinstance(exc, bx.ReadTimeoutError | bx.ConnectionClosedError):
        return SourceError(
            f"DynamoDB at {where} stopped answering during {operation}",
            hint="retry; with many --segments, try fewer",
        )
    if isinstance(exc, bx.InvalidRegionError | bx.UnknownRegionError | bx.NoRegionError):
        return UsageError(f"bad AWS region: {exc}", hint="pass --region, e.g. us-east-1")
    if isinstance(exc, bx.ParamValidationError):
        return UsageError(f"DynamoDB refused the request: {exc}", hint="check --table and --map")
    if isinstance(exc, bx.BotoCoreError):
        return SourceError(f"DynamoDB {operation} failed at {where}: {exc}")
    raise exc


def _client_error(exc: Any, conn: Connection, table: str, operation: str) -> ForensicsError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", "")).strip()
    attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
    where = conn.where()
    if code == "ResourceNotFoundException":
        return InputError(
            f"table {table!r} not found in {where}",
            hint="check --table and --region (a table lives in one region); "
            f"`aws dynamodb list-tables --region {conn.region}` lists them",
        )
    if code == "AccessDeniedException":
        return SourceError(
            f"access denied to {operation} on table {table!r} ({where}): {message}",
            hint="the importer needs dynamodb:DescribeTable, dynamodb:Query and dynamodb:Scan "
            "on the table and its indexes (a watch of its stream also dynamodb:DescribeStream, "
            "dynamodb:GetShardIterator and dynamodb:GetRecords on the stream); use a profile "
            "that has them (--profile)",
        )
    if code in _AUTH_CODES:
        return SourceError(
            f"AWS rejected the credentials ({code}) at {where}",
            hint="check the profile's keys, or that --endpoint-url/--region point at the "
            "account that owns the table",
        )
    if code in _EXPIRED_CODES:
        return SourceError(
            "the AWS session token has expired",
            hint=f"refresh the credentials (e.g. `aws sso login{_profile_flag(conn)}`) and retry",
        )
    if code in _THROTTLE_CODES:
        return SourceError(
            f"DynamoDB kept throttling {operation} on {table!r} after {attempts + 1} attempts",
            hint="retry later, use fewer --segments, or raise --max-attempts",
        )
    if code == "ValidationException":
        return UsageError(
            f"DynamoDB rejected {operation} on {table!r}: {message}",
            hint="check the key attributes of the mapping (forensics dynamodb-presets, --map)",
        )
    return SourceError(f"DynamoDB {operation} on {table!r} failed ({code}): {message}")


def _profile_flag(conn: Connection) -> str:
    return f" --profile {conn.target.profile}" if conn.target.profile else ""


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every credential string replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
