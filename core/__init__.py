"""The shared kernel: agencies, accounts, tokens, audit, field encryption and storage helpers.

Every domain package stands on it; it imports no domain package, no web framework and no
fixtures, so the rules it keeps (who may act, what is audited, what is encrypted) hold the same
from the API, the CLI and the tests.
"""
