"""Compliance: each client's own programme (frameworks it adopted, assessments, applied
measures, evidence, policies, risks, scores) and the MSP's view across its clients.

Sub-areas, each with the usual files: ``library`` (frameworks one can adopt: the shipped
library and frameworks a tenant wrote or imported), ``programme`` (what a tenant adopted
and its work on it), ``evidence``, ``policies``, ``risks``, ``overview`` (the MSP's view).
"""
