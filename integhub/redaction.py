"""Keep secrets out of logs: every secret the process decrypts is remembered and masked in log records."""
from __future__ import annotations

import logging
import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()
_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer\s+)?[^\s'\",}]+")


def remember_secret(value: str | None) -> None:
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)
        if not _installed:
            install()  # the first secret a process learns switches redaction on, whatever the entry point


def _mask_known(text: str) -> str:
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    return text


def _mask_auth(text: str) -> str:
    return _AUTH_HEADER.sub(lambda m: m.group(1) + (m.group(2) or "") + "[REDACTED]", text)


def redact(text: str) -> str:
    return _mask_auth(_mask_known(text))


_installed = False


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message and arguments, keeping the arguments' shape
    (formatters such as uvicorn's access log unpack `record.args`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Known secrets go from the template and from each argument (the shape stays). The
        # Authorization pattern is checked on the formatted message: applied to the template it
        # could eat a placeholder ("Bearer %s"), and the failed formatting would then print the raw
        # arguments through logging's error handler.
        if isinstance(record.msg, str):
            record.msg = _mask_known(record.msg)
        elif record.msg is not None and _mask_known(str(record.msg)) != str(record.msg):
            record.msg = _mask_known(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break logging
            message = None
        if message is not None:
            masked = _mask_auth(message)
            if masked != message:
                record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def _redact_arg(arg: object) -> object:
    if arg is None or isinstance(arg, (bool, int, float)):
        return arg
    text = str(arg)
    cleaned = _mask_known(text)
    return arg if cleaned == text else cleaned


def _scrubbing_factory(previous):
    """Records are masked when they are made, so handlers created before install() (a server's
    logging config, logging.lastResort) never see a secret either."""
    flt = RedactingFilter()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        flt.filter(record)
        return record

    factory._integhub_redaction = True  # type: ignore[attr-defined]
    return factory


def install() -> None:
    """Mask records at creation (log record factory), and add the filter to the root logger's
    handlers and to every handler created later."""
    global _installed
    _installed = True
    if not getattr(logging.getLogRecordFactory(), "_integhub_redaction", False):
        logging.setLogRecordFactory(_scrubbing_factory(logging.getLogRecordFactory()))
    root = logging.getLogger()
    flt = RedactingFilter()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    if not getattr(logging, "_integhub_redaction", False):
        original_init = logging.Handler.__init__

        def patched_init(self, *a, **kw):
            original_init(self, *a, **kw)
            self.addFilter(flt)

        logging.Handler.__init__ = patched_init  # type: ignore[method-assign]
        logging._integhub_redaction = True  # type: ignore[attr-defined]
