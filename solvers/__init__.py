"""Pure optimisation and search engines: frozen dataclasses in, result values out.

This package imports only the standard library, ortools, networkx and numpy. It never sees a
database session, a SQLModel table or an HTTP type, so every solver can be tested, benchmarked
and run in an isolated worker process on plain values.
"""
