"""What the test driver (packages/cli/test/python-client.test.ts) gives these tests.

The driver starts one real ``lockbox serve`` (HTTPS, SQLite) for the whole suite
and passes its URL, CA file, tokens and fixtures in LOCKBOX_TEST_* variables.
Without them the suite fails loudly rather than skip: run it with ``npm test``,
or ``npx vitest run packages/cli/test/python-client.test.ts``.
"""

import json
import os
from typing import Any, Dict

from lockbox import Client


def _load() -> Dict[str, Any]:
    raw = os.environ.get("LOCKBOX_TEST_CONFIG")
    if not raw:
        raise RuntimeError(
            "LOCKBOX_TEST_CONFIG is not set: these tests run against a server the driver starts; "
            "run `npx vitest run packages/cli/test/python-client.test.ts`"
        )
    return json.loads(raw)


CONFIG: Dict[str, Any] = _load()
URL: str = CONFIG["url"]
CA_FILE: str = CONFIG["caFile"]
TOKENS: Dict[str, str] = CONFIG["tokens"]


def client(token_name: str, **kwargs: Any) -> Client:
    """A client of the test server with one of the driver's tokens."""
    return Client(URL, TOKENS[token_name], ca_file=CA_FILE, **kwargs)
