"""The one decoder builder: operation shapes from a schema, Cloudflare's scalar facts, and the
builder that turns them into the generated decoders (at generation time) and the DSL's (at run
time); the decoder itself is ``codegen/row_decoding.py``, copied into the generated package.

Nothing is imported here, so importing one of these modules does not pay for the others.
"""
