"""Names for JSON data in signatures.

JSON as ``json.loads`` returns it: a value may be a dict, a list, a str, an int, a float, a
bool or None, nested to any depth, so its static type is ``Any``. These names say so once,
here, instead of an unexplained ``Any`` in every signature that passes JSON along; code that
reads a value checks its shape (``isinstance``) before using it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

#: Any JSON value (see the module docstring for why it is ``Any``).
JsonValue: TypeAlias = Any
#: A JSON object being built or returned.
JsonObject: TypeAlias = dict[str, JsonValue]
#: A JSON object only read.
JsonMapping: TypeAlias = Mapping[str, JsonValue]
