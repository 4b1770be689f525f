"""A tenant's compliance programme: adopted frameworks, assessments, measures, scores."""
