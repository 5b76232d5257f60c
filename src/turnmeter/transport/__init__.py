"""The wire: aiohttp transport, error classification, retries, the rate budget and its stores,
single-flight, the answer cache, redaction and observability.

Nothing is imported here, so importing one of these modules does not pay for the others.
"""
