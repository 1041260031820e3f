/* Every monitors test, one line each: TEST(name). CTest runs each as
 * monitors_<name> in its own process. Keep them grouped by file. */

/* test_news.c */
TEST(news_signals_and_status)
TEST(news_dedup_and_route)
TEST(news_continue_as_new_seen)
TEST(news_continue_as_new_iterations)
TEST(news_week)

/* test_price.c */
TEST(price_above_below_one_time)
TEST(price_crosses)
TEST(price_signals_and_template)
TEST(price_route_failure_keeps_alert)
TEST(price_continue_as_new)

/* test_alert_router.c */
TEST(alert_router_priority_dedup_restart)
TEST(alert_router_rate_limit_continue_as_new)

/* test_rule_alerts.c */
TEST(rule_alerts_sma_crossing)
TEST(rule_alerts_signals_and_refusals)
TEST(rule_alerts_continue_as_new)

/* test_portfolio.c */
TEST(portfolio_pnl_margin)
TEST(portfolio_assignment_concentration)
TEST(portfolio_throttle)
TEST(portfolio_config_status_continue_as_new)

/* test_user.c */
TEST(user_rules)
TEST(user_namespaces)
TEST(user_account_positions)
TEST(user_continue_as_new)

/* test_scheduled.c */
TEST(screener_output)
TEST(daily_report_output)
TEST(weekly_report_output)

/* test_market.c */
TEST(market_quotes_cache)
TEST(market_data_activities)
TEST(market_errors_and_config)
TEST(market_price_alert_end_to_end)

/* test_marketsim.c (run with the ttai-marketsim binary as argument) */
TEST(marketsim_contract)
TEST(marketsim_workflows)
