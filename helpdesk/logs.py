"""Log output for the helpdesk's own loggers: readable lines, or one JSON object per line for log
collectors (LOG_FORMAT = "json"). Structured details travel in ``extra={"fields": {...}}``."""
import json
import logging
import sys
from datetime import UTC, datetime

_HANDLER_NAME = "helpdesk"


class TextFormatter(logging.Formatter):
    """``2026-11-24 13:00:00 INFO helpdesk.mailgateway inbound 12 new_ticket ticket=1003 ms=3.1``"""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record):
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items() if value not in (None, ""))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(app):
    """Send the helpdesk's loggers to stderr in the configured format (once per process). ``app``: the app, or
    its settings (``settings.read()``: a command that logs before it builds the app)."""
    config = getattr(app, "config", app)
    logger = logging.getLogger("helpdesk")
    logger.setLevel(config["LOG_LEVEL"])
    if any(getattr(h, "name", None) == _HANDLER_NAME for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.name = _HANDLER_NAME
    handler.setFormatter(JsonFormatter() if config.get("LOG_FORMAT") == "json" else TextFormatter())
    logger.addHandler(handler)
    # Our own handler: what the migration tool does to the root logger cannot silence or double it.
    logger.propagate = False
