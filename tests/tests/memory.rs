//! The host's memory for one call stays within the guest's memory cap plus a small, stated
//! amount, however large what the guest hands back: answers are checked against their
//! ceilings before they are copied, and import arguments are read in place. Its own test
//! binary (one test), so the process's peak memory is this test's alone.

use e2e::greedy::GreedyScenario;
use reqwest::StatusCode;

/// The greedy guest's memory cap (tests/fixtures/test_greedy.yaml).
const GUEST_CAP_MIB: u64 = 128;
/// What the host may add beside the guest's memory for one call: the answers it keeps (at
/// most about 2 MiB, `runtime::ceilings::LARGEST_ANSWER_BYTES`) and the request itself, with
/// room for allocator and runtime noise.
const HOST_ALLOWANCE_MIB: u64 = 24;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Resets the process's peak resident size to its current size (Linux `clear_refs` 5).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident size");
}

#[tokio::test]
async fn a_hundred_megabyte_answer_costs_the_host_no_copy() {
    let g = GreedyScenario::start().await;
    let (status, _, _) = g.session("normal", 0).await;
    assert_eq!(status, StatusCode::CREATED);

    for (behaviour, mib, expected) in [
        ("huge-redirect", 100, StatusCode::BAD_GATEWAY),
        ("huge-error", 100, StatusCode::BAD_GATEWAY),
        ("log-huge", 100, StatusCode::BAD_GATEWAY),
        ("mapper-huge", 100, StatusCode::BAD_GATEWAY),
    ] {
        reset_peak();
        let before = status_kib("VmRSS:");
        let (status, body, _) = g.session(behaviour, mib).await;
        assert_eq!(status, expected, "{behaviour}: {body}");
        let grown_mib = status_kib("VmHWM:").saturating_sub(before) / 1024;
        println!("{behaviour} ({mib} MiB): peak grew by {grown_mib} MiB");
        assert!(
            grown_mib < GUEST_CAP_MIB + HOST_ALLOWANCE_MIB,
            "{behaviour}: the peak grew by {grown_mib} MiB, more than the guest's {GUEST_CAP_MIB} MiB cap plus {HOST_ALLOWANCE_MIB} MiB"
        );
        assert!(
            grown_mib >= mib as u64 / 2,
            "{behaviour}: the guest's own memory shows ({grown_mib} MiB), so the measure works"
        );
    }
}
