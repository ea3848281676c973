"""Names for JSON data in the sandbox's signatures.

The sandbox imports nothing from the client's modules (it stands in for USGS, and must not
share the code it is there to test), so it names JSON here rather than reusing
``m2mdl.util.jsontypes``. A JSON value as ``json.loads`` returns it may be a dict, a list, a
str, a number, a bool or None, nested to any depth, so its static type is ``Any``; code that
reads a value checks its shape first.
"""

from __future__ import annotations

from typing import Any, TypeAlias

#: Any JSON value (see the module docstring for why it is ``Any``).
JsonValue: TypeAlias = Any
#: A JSON object: a request body, a response, a log record.
JSON: TypeAlias = dict[str, JsonValue]
