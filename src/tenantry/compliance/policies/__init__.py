"""Policies: Markdown documents with versions, approval, publication and
acknowledgements; the MSP's policy templates, copied into its clients."""
