"""Who follows changes to tickets: packages above the ticket store (search) ask here to be told, after each
commit, which tickets changed, so the ticket store never imports them."""
from helpdesk.jobs import Followers

TICKET_CHANGES = Followers("ticket")
