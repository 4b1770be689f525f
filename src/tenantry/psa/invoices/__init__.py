"""PSA invoices: generated per client from approved billable time and recurring items,
numbered gap-free per MSP when issued."""
