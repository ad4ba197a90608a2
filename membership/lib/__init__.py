"""Infrastructure without models: the HTTP session for Microsoft's endpoints and its host allow-list,
locks across processes, and field encryption. Nothing here knows about members or Graph functions."""
