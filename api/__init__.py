"""HTTP surface: the FastAPI app factory, dependencies, routes per context, request/response schemas."""
