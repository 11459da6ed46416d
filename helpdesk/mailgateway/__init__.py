"""Inbound mail: fetch (IMAP, Maildir) → store raw → parse → classify → thread → act through the ticket store."""
