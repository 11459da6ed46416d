"""Users (admins, agents, customers) and organisations."""
