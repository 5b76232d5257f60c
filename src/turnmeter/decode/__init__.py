"""Decoding answers into typed rows: operation shapes from the pruned schema, Cloudflare's scalar
facts, the compiled strict walk and the msgspec decoder from bytes.

Nothing is imported here, so importing one of these modules does not pay for the others.
"""
