"""The HTTP service and the `homeward` command line: the only place that knows FastAPI."""
