//! The load generator's scenario features end to end, small: pupils registered ahead of
//! T0, spread over several loopback source addresses, uploading snapshots, dropping and
//! resuming, and submitting together at the deadline surge. Nothing is lost.

use std::sync::Arc;
use std::time::Duration;

use loadtest::{LoadConfig, RandomAnswers, Scenario};

use crate::support;

const SCENARIO: &str = r#"
    name = "test"
    participants = 150
    register_first = true
    source_addresses = 4
    drop_share = 0.2
    proctor_every = 0
    reply_timeout_s = 20
    time_limit_s = 60
    sample_period_ms = 250
    [arrival]
    curve = "linear"
    window_s = 1
    [think]
    distribution = "exponential"
    mean_ms = 30
    low_ms = 5
    high_ms = 200
    [snapshots]
    every_answers = 3
    size_bytes = 4096
    [deadline]
    submit_at_s = 3
    spread_ms = 300
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_with_every_feature_loses_nothing_and_submits_at_the_surge() {
    let node = support::node(600).await;
    let scenario = Scenario::parse(SCENARIO).unwrap();
    let config = LoadConfig {
        http_addr: node.server.http_addr,
        olympiad_id: support::OLYMPIAD.into(),
        grade: 9,
        participants: scenario.participants,
        arrival_window: Duration::from_secs_f64(scenario.arrival.window_s),
        think_time_ms: (scenario.think.low_ms, scenario.think.high_ms),
        proctor_every: scenario.proctor_every,
        drop_share: scenario.drop_share,
        reply_timeout: Duration::from_secs(scenario.reply_timeout_s),
        verify: true,
        allow_non_loopback: false,
        strategy: Arc::new(RandomAnswers),
        options: scenario.options(),
    };
    let (report, outcomes) = loadtest::run(config).await.unwrap();
    assert_eq!(report.errors, 0, "{:?}", report.errors_by_kind);
    assert_eq!(report.answers_lost, 0);
    assert_eq!(report.sessions_submitted, 150);
    assert_eq!(report.answers_acked, report.answers_sent);
    assert!(report.snapshots_sent + report.snapshots_busy > 0);
    assert!(
        report.duration_s >= 3.0,
        "nobody submitted before the surge"
    );
    assert!(outcomes.iter().all(|o| o.submitted));
    assert!(loadtest::plot::svg("test", &report.timeline).contains("<polyline"));
    node.server.stop().await;
}
