"""The MSP's service plans for its clients (issue #17): offers (per-user price, included
users) and which client is on which, both kept in the MSP's own tenant."""
