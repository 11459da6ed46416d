"""Outlook .msg files for the tests, built the way Outlook lays them out (MS-OXMSG property streams in an OLE2
compound file). The compound file itself is written by OLE::Storage_Lite, the Perl library msgconvert reads
it with (installed with msgconvert by scripts/test-services.sh): nothing here writes the container by hand."""
import json
import struct
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime

MSG_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")

# Reads a tree of storages and streams as JSON ({"name": ..., "data": hex} or {"name": ..., "children": [...]})
# on standard input and writes the compound file to standard output.
_WRITER = r"""
use strict; use warnings; use JSON::PP; use OLE::Storage_Lite;
local $/; my $tree = decode_json(<STDIN>);
sub node {
  my ($n) = @_;
  my $name = OLE::Storage_Lite::Asc2Ucs($n->{name});
  return OLE::Storage_Lite::PPS::File->new($name, pack("H*", $n->{data})) if exists $n->{data};
  return OLE::Storage_Lite::PPS::Dir->new($name, undef, undef, [map { node($_) } @{$n->{children}}]);
}
my $root = OLE::Storage_Lite::PPS::Root->new(undef, undef, [map { node($_) } @{$tree}]);
binmode STDOUT; $root->save("-");
"""

PT_UNICODE = 0x001F
PT_BINARY = 0x0102
PT_SYSTIME = 0x0040
PT_LONG = 0x0003


@dataclass
class MsgAttachment:
    filename: str
    data: bytes
    mime_type: str = "application/octet-stream"


@dataclass
class Recipient:
    name: str
    address: str
    kind: int = 1  # MAPI_TO; 2 is MAPI_CC


@dataclass
class OutlookMessage:
    subject: str = "Printer on the 3rd floor is offline"
    sender_name: str = "Alice Example"
    sender_email: str = "alice@customer.example"
    body: str = "Hello,\n\nthe printer on the third floor has been offline since this morning.\n\nAlice"
    to: list = field(default_factory=lambda: [Recipient("Support", "support@helpdesk.example")])
    cc: list = field(default_factory=list)
    # The message's Internet headers as received (PR_TRANSPORT_MESSAGE_HEADERS); None: a message never sent.
    transport_headers: str | None = None
    message_id: str | None = None
    sent: datetime | None = field(default_factory=lambda: datetime(2026, 3, 2, 9, 15, tzinfo=UTC))
    attachments: list = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return build_msg(self)


def _stream(prop_id: int, prop_type: int, value) -> dict:
    data = value.encode("utf-16-le") if prop_type == PT_UNICODE else value
    return {"name": f"__substg1.0_{prop_id:04X}{prop_type:04X}", "data": data.hex()}


def _filetime(moment: datetime) -> int:
    return int((moment - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)


def _properties(header: bytes, fixed=()) -> dict:
    """The __properties_version1.0 stream: a header, then 16 bytes per property (type, id, flags, value)."""
    entries = b"".join(struct.pack("<HHI", prop_type, prop_id, 0x6) + value.ljust(8, b"\0")[:8]
                       for prop_type, prop_id, value in fixed)
    return {"name": "__properties_version1.0", "data": (header + entries).hex()}


def build_msg(message: OutlookMessage) -> bytes:
    """The bytes of an Outlook .msg file holding ``message``."""
    recipients = [*message.to, *message.cc]
    tree = [
        _stream(0x001A, PT_UNICODE, "IPM.Note"),
        _stream(0x0037, PT_UNICODE, message.subject),
        _stream(0x0C1A, PT_UNICODE, message.sender_name),
        _stream(0x0C1E, PT_UNICODE, "SMTP"),
        _stream(0x0C1F, PT_UNICODE, message.sender_email),
        _stream(0x1000, PT_UNICODE, message.body),
        _stream(0x0E04, PT_UNICODE, "; ".join(r.name for r in message.to)),
    ]
    if message.cc:
        tree.append(_stream(0x0E03, PT_UNICODE, "; ".join(r.name for r in message.cc)))
    if message.transport_headers is not None:
        tree.append(_stream(0x007D, PT_UNICODE, message.transport_headers))
    if message.message_id:
        tree.append(_stream(0x1035, PT_UNICODE, message.message_id))
    fixed = []
    if message.sent is not None:
        fixed.append((PT_SYSTIME, 0x0039, struct.pack("<Q", _filetime(message.sent))))
    count = struct.pack("<II", len(recipients), len(message.attachments))
    tree.append(_properties(b"\0" * 8 + count + count + b"\0" * 8, fixed))
    for number, recipient in enumerate(recipients):
        tree.append({"name": f"__recip_version1.0_#{number:08X}", "children": [
            _stream(0x3001, PT_UNICODE, recipient.name),
            _stream(0x3002, PT_UNICODE, "SMTP"),
            _stream(0x3003, PT_UNICODE, recipient.address),
            _stream(0x39FE, PT_UNICODE, recipient.address),
            _properties(b"\0" * 8, [(PT_LONG, 0x0C15, struct.pack("<I", recipient.kind))]),
        ]})
    for number, attachment in enumerate(message.attachments):
        tree.append({"name": f"__attach_version1.0_#{number:08X}", "children": [
            _stream(0x3701, PT_BINARY, attachment.data),
            _stream(0x3707, PT_UNICODE, attachment.filename),
            _stream(0x3704, PT_UNICODE, attachment.filename[:12]),
            _stream(0x370E, PT_UNICODE, attachment.mime_type),
            _properties(b"\0" * 8, [(PT_LONG, 0x3705, struct.pack("<I", 1))]),
        ]})
    return compound_file(tree)


def compound_file(tree: list) -> bytes:
    """An OLE2 compound file of ``tree``: streams ``{"name": …, "data": hex}``, storages ``{"name": …,
    "children": [...]}``."""
    built = subprocess.run(["perl", "-e", _WRITER], input=json.dumps(tree).encode(), capture_output=True,
                           check=True, timeout=60)
    assert built.stdout.startswith(MSG_MAGIC), built.stderr
    return built.stdout


def word_document() -> bytes:
    """An OLE2 compound file that is not a message: the streams of a (very small) Word document."""
    return compound_file([{"name": "WordDocument", "data": (b"\xec\xa5" + b"\0" * 600).hex()},
                          {"name": "1Table", "data": (b"\0" * 300).hex()}])


def truncated(data: bytes, keep: int = 1500) -> bytes:
    """A .msg cut off as a failed download or a full disk leaves it: the OLE2 signature, then nothing whole."""
    return data[:keep]
