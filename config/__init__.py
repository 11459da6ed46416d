"""Settings files for helpdesk: ``default.py`` holds every setting; the others override it."""
