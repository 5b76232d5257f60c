"""Python types for Cloudflare's custom scalars, included into the generated package.

Aliases rather than bare ``datetime``/``date``: the TURN filter input has fields named ``date``,
and pydantic resolves an annotation named ``date`` to the field instead of the type.
"""

from datetime import date, datetime

CFTime = datetime
CFDate = date
