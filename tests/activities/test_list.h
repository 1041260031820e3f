/* Every activities test, one line each: TEST(name). CTest runs each as
 * act_<name> in its own process. Keep them grouped by file. */

/* test_http.c */
TEST(http_get_json)
TEST(http_methods_and_bodies)
TEST(http_timeout_retryable)
TEST(http_5xx_retryable)
TEST(http_429_retry_after_seconds)
TEST(http_429_retry_after_date)
TEST(http_4xx_final)
TEST(http_too_large)
TEST(http_connection_refused)
TEST(http_connection_reuse)
TEST(http_invalid_requests)
TEST(http_retry_after_parse)
TEST(http_url_redact)
TEST(http_tls_verification)

/* test_smtp.c */
TEST(smtp_message_format)
TEST(smtp_subject_encoding)
TEST(smtp_send_multipart)
TEST(smtp_rcpt_rejected_final)
TEST(smtp_dropped_retryable)
TEST(smtp_auth_refused)
TEST(smtp_starttls_required)
TEST(smtp_connection_refused)
TEST(smtp_invalid_message)
TEST(smtp_configure_checks)

/* test_engine.c */
TEST(engine_http_flap_retries)
TEST(engine_http_404_final)
TEST(engine_http_429_retry_after)
TEST(engine_http_post_json)
TEST(engine_http_secret_header)
TEST(engine_http_cancel_stops_transfer)
TEST(engine_email_delivered)
TEST(engine_email_rejected_final)
TEST(engine_email_dropped_retried)
TEST(engine_email_not_configured)
