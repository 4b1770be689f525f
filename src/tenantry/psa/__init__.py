"""Professional services automation: the client-facing work an MSP does for its clients
(contacts, tickets, and in sibling packages time and invoices). Every table here is
tenant-owned: it belongs to the client the work is for."""
