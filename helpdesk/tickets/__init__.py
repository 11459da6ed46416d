"""The ticket store: tickets, their messages, participants and attachments, and every operation on them."""
