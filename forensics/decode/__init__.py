"""Payload decoding for workflow event logs: CBOR, binary leaves, devalue, prefixes.

Pure functions over given bytes and values, no I/O. Start with `decode_field` (one raw
``eventData`` field, any source) or `decode_payload` (prefixed payload bytes); both return
a `DecodedPayload` with a JSON-safe value and never raise. `decode_payload_strict` raises
`DecodeError` for callers that quarantine bad payloads. `PAYLOAD_FIELDS` names the payload
field of each event type; `cli_view` projects a decoded value onto what ``workflow
inspect --json`` shows, for comparing the two.
"""

from forensics.decode.binary import b64decode, b64encode, iso_ms, to_jsonable, unwrap_binary
from forensics.decode.cbor import decode_cbor, decode_cbor_at
from forensics.decode.cliview import cli_view
from forensics.decode.devalue import (
    encode_devalue,
    is_devalue_document,
    parse_devalue,
    unflatten_devalue,
)
from forensics.decode.errors import DecodeError
from forensics.decode.fields import PAYLOAD_FIELDS
from forensics.decode.jsvalues import UNDEFINED, Tagged, UndefinedType
from forensics.decode.payload import (
    DecodedPayload,
    decode_field,
    decode_hydrated,
    decode_legacy,
    decode_payload,
    decode_payload_strict,
)

__all__ = [
    "PAYLOAD_FIELDS",
    "UNDEFINED",
    "DecodeError",
    "DecodedPayload",
    "Tagged",
    "UndefinedType",
    "b64decode",
    "b64encode",
    "cli_view",
    "decode_cbor",
    "decode_cbor_at",
    "decode_field",
    "decode_hydrated",
    "decode_legacy",
    "decode_payload",
    "decode_payload_strict",
    "encode_devalue",
    "is_devalue_document",
    "iso_ms",
    "parse_devalue",
    "to_jsonable",
    "unflatten_devalue",
    "unwrap_binary",
]
