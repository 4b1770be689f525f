"""A client's end users (contacts): who raises tickets and uses the support portal."""
