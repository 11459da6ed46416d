"""Billing records hanging off customers: products, orders, invoices and payments."""
