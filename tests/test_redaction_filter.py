import logging

from integhub.redaction import RedactingFilter, redact, remember_secret


def test_decrypted_secrets_and_authorization_headers_are_masked():
    remember_secret("cal_live_supersecretvalue0001")
    assert "supersecret" not in redact("key=cal_live_supersecretvalue0001")
    assert "abc123" not in redact("{'Authorization': 'Bearer abc123'}")
    assert "abc123" not in redact("authorization: Bearer abc123")


def test_filter_keeps_the_argument_shape_for_formatters():
    remember_secret("key_retell_hidden_0002")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, '%s - "%s %s" %d', ("1.2.3.4", "GET",
                               "/p?k=key_retell_hidden_0002", 200), None)
    RedactingFilter().filter(record)
    assert isinstance(record.args, tuple) and len(record.args) == 4 and record.args[3] == 200
    assert "key_retell_hidden_0002" not in record.getMessage()
