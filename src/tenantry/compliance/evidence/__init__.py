"""Evidence of an assessment: files uploaded into the tenant's own storage (the
database), or links to where the evidence lives."""
