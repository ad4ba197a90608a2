"""Infrastructure without models: the HTTP session for Microsoft's endpoints and its host allow-list,
locks across processes, field encryption, and Celery task messages without members' data. Nothing
here knows about members or Graph functions."""
