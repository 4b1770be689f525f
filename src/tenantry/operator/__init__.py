"""The instance operator's HTTP API (``/api/v1/operator/…``) and its bearer tokens."""
