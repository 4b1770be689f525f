"""A client's risk register: risks scored by likelihood and impact before and after
treatment, linked to requirements and measures of its programme, shown as a 5x5 heat map."""
