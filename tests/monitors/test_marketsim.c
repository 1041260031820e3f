/* test_marketsim.c: the market activities and the workflows against
 * ttai-marketsim itself (its path is the test's argument; without it the
 * test skips with 77). They check that the simulator's field names are the
 * ones the workflows read. */
#include "mon_test.h"

#include <math.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "activities.h"
#include "market.h"
#include "store.h"

struct sim {
    pid_t pid;
    char url[64];
};

static void sim_start(struct sim *sim)
{
    const char *path = test_arg();
    if (path == NULL || access(path, X_OK) != 0) {
        printf("skip: no ttai-marketsim binary\n");
        exit(77);
    }
    int fds[2];
    ASSERT(pipe(fds) == 0);
    sim->pid = fork();
    ASSERT(sim->pid >= 0);
    if (sim->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(path, "ttai-marketsim", "--listen", "127.0.0.1:0", "--clock", "virtual", "--seed",
              "1", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[128] = "";
    size_t n = 0;
    while (n < sizeof(line) - 1 && read(fds[0], &line[n], 1) == 1 && line[n] != '\n')
        n++;
    line[n] = '\0';
    close(fds[0]);
    int port = 0;
    if (sscanf(line, "listening on 127.0.0.1:%d", &port) != 1)
        test__fail(__FILE__, __LINE__, "ttai-marketsim said '%s'", line);
    snprintf(sim->url, sizeof(sim->url), "http://127.0.0.1:%d", port);
    struct market_config cfg = {.base_url = sim->url};
    struct ttai_err err = {0};
    ASSERT(market_configure(&cfg, &err) == 0);
}

static void sim_stop(struct sim *sim)
{
    int status = 0;
    ASSERT(kill(sim->pid, SIGTERM) == 0);
    ASSERT(waitpid(sim->pid, &status, 0) == sim->pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct ttai_err err = {0};
    ASSERT(market_configure(NULL, &err) == 0);
}

/* POSTs an admin request to the simulator. */
static void sim_admin(const struct sim *sim, const char *path, const char *body)
{
    char url[128];
    snprintf(url, sizeof(url), "%s%s", sim->url, path);
    struct act_http_request req = {.method = ACT_HTTP_POST, .url = url, .body = body,
                                   .body_len = strlen(body)};
    struct act_http_result res;
    act_http_result_init(&res);
    if (act_http_request(&req, &res) != 0)
        test__fail(__FILE__, __LINE__, "%s: %s %s", path, res.message, res.body ? res.body : "");
    act_http_result_release(&res);
}

static json_t *call(const char *type, const char *input_json)
{
    static int seq;
    char id[32], input[1024];
    snprintf(id, sizeof(id), "call-%d", seq++);
    snprintf(input, sizeof(input), "{\"type\": \"%s\", \"input\": %s}", type, input_json);
    mt_start("call", id, input);
    mt_settle();
    ASSERT_EQ(mt_status("default", id), STORE_RUN_COMPLETED);
    return test_json(mt_result(id));
}

static bool is_number(const json_t *o, const char *key)
{
    return json_is_number(json_object_get(o, key));
}

void test_marketsim_contract(void)
{
    struct sim sim;
    sim_start(&sim);
    mt_open(MT_MARKET, MT_T0);

    json_t *quotes = call("fetch_quotes", "[\"AAPL\", \"NOPE\"]");
    ASSERT_EQ(json_object_size(quotes), 1);
    ASSERT(is_number(json_object_get(quotes, "AAPL"), "price"));
    json_decref(quotes);

    json_t *news = call("check_news", "{\"symbols\": [\"AAPL\", \"MSFT\", \"NVDA\"], "
                                      "\"significance_threshold\": 0, \"exclude_ids\": []}");
    ASSERT(json_array_size(news) > 0);
    size_t i;
    json_t *a;
    json_array_foreach(news, i, a) {
        ASSERT(json_is_string(json_object_get(a, "article_id")));
        ASSERT_STR_EQ(json_string_value(json_object_get(a, "type")), "news");
        char message[512];
        snprintf(message, sizeof(message), "%s: %s",
                 json_string_value(json_object_get(a, "symbol")),
                 json_string_value(json_object_get(a, "title")));
        ASSERT_STR_EQ(json_string_value(json_object_get(a, "message")), message);
    }
    json_decref(news);

    json_t *pf = call("fetch_portfolio", "\"default\"");
    ASSERT(is_number(pf, "total_value") && is_number(pf, "day_pnl_percent") &&
           is_number(pf, "margin_utilization") && is_number(pf, "buying_power"));
    size_t options = 0;
    json_array_foreach(json_object_get(pf, "positions"), i, a) {
        ASSERT(json_is_string(json_object_get(a, "symbol")) && is_number(a, "market_value"));
        if (json_object_get(a, "option_type") == NULL)
            continue;
        options++;
        ASSERT(is_number(a, "dte") && is_number(a, "delta") && is_number(a, "quantity") &&
               is_number(a, "strike") && is_number(a, "underlying_price") &&
               json_is_boolean(json_object_get(a, "itm")));
    }
    ASSERT(options > 0);
    json_decref(pf);

    json_t *scan = call("run_screener", "{\"max_price\": 100, \"min_roc_weekly\": 0.5, \"max_picks\": 10}");
    ASSERT(is_number(scan, "candidates_screened"));
    ASSERT(json_array_size(json_object_get(scan, "recommendations")) > 0);
    json_array_foreach(json_object_get(scan, "recommendations"), i, a)
        ASSERT(json_is_string(json_object_get(a, "symbol")) && is_number(a, "best_strike") &&
               json_is_string(json_object_get(a, "best_expiration")) && is_number(a, "weekly_roc"));
    json_decref(scan);

    json_t *analyses = call("fetch_analysis_history", "{\"date\": \"2026-01-05\"}");
    ASSERT(json_is_array(analyses) && json_array_size(analyses) == 0);
    json_decref(analyses);
    mt_close();
    sim_stop(&sim);
}

void test_marketsim_workflows(void)
{
    struct sim sim;
    sim_start(&sim);
    mt_open(MT_MARKET, MT_T0);
    sim_admin(&sim, "/admin/quote", "{\"symbol\": \"AAPL\", \"price\": 100, \"hold\": true}");
    sim_admin(&sim, "/admin/portfolio", "{\"account_id\": \"default\", \"cash\": 0}");
    sim_admin(&sim, "/admin/news", "{\"article_id\": \"t-1\", \"symbol\": \"AAPL\", "
                                   "\"headline\": \"Apple recalls a product\", \"significance\": 0.95}");

    mt_start("PriceAlert", "price-alerts", "{\"initial_alerts\": [{\"id\": \"a\", \"symbol\": "
                                           "\"AAPL\", \"condition\": \"below\", \"target_price\": 150}]}");
    mt_settle();
    json_t *routed = test_json(fake_input("route_alerts", 0));
    ASSERT_STR_EQ(json_string_value(json_object_get(
                      json_array_get(json_object_get(routed, "alerts"), 0), "message")),
                  "AAPL below $150.00 (current: $100.00)");
    json_decref(routed);
    mt_check_replay("default", "price-alerts", "get_alerts");

    mt_start("NewsWatcher", "news-watcher", "{\"initial_symbols\": [\"AAPL\"], "
                                            "\"significance_threshold\": 0.94}");
    mt_start("PortfolioMonitor", "portfolio-monitor", "{\"account_id\": \"default\"}");
    mt_start("ScheduledScreener", "morning-csp-scan",
             "{\"screener_id\": \"morning-csp\", \"screener_params\": {\"max_price\": 100, "
             "\"min_roc_weekly\": 0.5, \"max_picks\": 10}, \"notify_channels\": [\"discord\"]}");
    mt_start("DailyReport", "daily-report", "{\"account_id\": \"default\"}");
    mt_start("WeeklyReport", "weekly-summary", "{\"account_id\": \"default\"}");
    mt_settle();
    bool news = false, margin = false, screener = false;
    for (size_t k = 0; k < fake_calls("route_alerts"); k++) {
        const char *in = fake_input("route_alerts", k);
        news |= strstr(in, "\"message\":\"AAPL: Apple recalls a product\"") != NULL;
        margin |= strstr(in, "\"type\":\"margin_critical\"") != NULL;
        screener |= strstr(in, "\"message\":\"Found ") != NULL;
    }
    ASSERT(news && margin && screener);
    ASSERT(strstr(mt_result("daily-report"), "# Daily Portfolio Report - 2026-01-05") != NULL);
    /* ttai-marketsim answers "as_of": the week has its history. Monday
     * 14:30: the snapshots of Tuesday to Friday of last week and now,
     * against last Monday's baseline. */
    json_t *weekly = test_json(mt_result("weekly-summary"));
    ASSERT(json_is_true(json_object_get(weekly, "history")));
    json_t *days = json_object_get(weekly, "days");
    ASSERT_EQ(json_array_size(days), 5);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(days, 0), "date")),
                  "2025-12-30");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(days, 4), "date")),
                  "2026-01-05");
    double start = json_number_value(json_object_get(weekly, "start_value"));
    double end = json_number_value(json_object_get(weekly, "end_value"));
    ASSERT(start > 0 && end > 0);
    ASSERT(fabs(json_number_value(json_object_get(weekly, "week_pnl")) - (end - start)) < 0.01);
    ASSERT(json_is_object(json_object_get(weekly, "best_position")));
    json_decref(weekly);
    mt_check_replay("default", "news-watcher", "get_status");
    mt_check_replay("default", "portfolio-monitor", "get_status");
    mt_check_replay("default", "daily-report", NULL);
    mt_close();
    sim_stop(&sim);
}
