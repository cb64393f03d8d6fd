"""RamBase: purchase-order updates and forwarding order responses to supplier invoices."""
