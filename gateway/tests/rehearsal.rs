//! The README's main job at a smaller size: `olymp rehearse` sits a real imported exam,
//! loses nothing, and the results API agrees with an independent recomputation.

use std::process::Command;

const OLYMP: &str = env!("CARGO_BIN_EXE_olymp");
const EXAM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/zno-math/tests/math_raw.json"
);

#[test]
fn rehearsal_of_300_participants_loses_nothing_and_scores_match_the_key() {
    let output = Command::new(OLYMP)
        .args([
            "rehearse",
            "--participants",
            "300",
            "--arrival-s",
            "3",
            "--think-ms",
            "20-150",
            "--exam",
            EXAM,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let verdict: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|_| panic!("no JSON verdict:\n{stdout}"));
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(verdict["answers_lost"], 0);
    assert_eq!(verdict["errors"], 0);
    assert_eq!(verdict["sessions_submitted"], 300);
    assert_eq!(verdict["results_listed"], 300);
    assert_eq!(verdict["scores_mismatched"], 0);
    assert_eq!(verdict["answers_sent"], verdict["answers_acked"]);
    assert_eq!(verdict["questions"], 33);
}
