"""PSA time: work types (per client, with an hourly rate) and time entries, logged by a
technician, approved by someone else, then billed on an invoice."""
