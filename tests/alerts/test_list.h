/* Every alert test, one line each: TEST(name). CTest runs each as
 * alerts_<name> in its own process. Keep them grouped by file. */

/* test_router.c */
TEST(router_dedup_window)
TEST(router_dedup_key)
TEST(router_rate_limits_per_type)
TEST(router_rate_limit_global)
TEST(router_rate_window_expiry)
TEST(router_memory_bounded)
TEST(router_pack_round_trip)
TEST(router_unpack_rejects)
TEST(router_config_checks)
TEST(router_priorities)

/* test_format.c */
TEST(alert_pack_json_round_trip)
TEST(alert_checks)
TEST(format_discord_exact)
TEST(format_slack_exact)
TEST(format_title_case)
TEST(format_email)
TEST(format_console_and_webhook)

/* test_deliver.c */
TEST(channels_configure_checks)
TEST(deliver_discord_and_slack)
TEST(deliver_500_then_success)
TEST(deliver_400_final)
TEST(deliver_webhook_headers_and_body)
TEST(deliver_unconfigured_and_mismatch)
TEST(deliver_email)
TEST(deliver_console_and_stream)
TEST(deliver_down_channel_delays_only_itself)

/* test_pipeline.c */
TEST(pipeline_across_restart)
