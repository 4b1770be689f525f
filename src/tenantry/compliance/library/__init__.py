"""Frameworks a tenant can adopt: the shipped library and frameworks a tenant wrote."""
