"""HTTP routes, one module per capability; each route validates, calls one use case, returns."""
