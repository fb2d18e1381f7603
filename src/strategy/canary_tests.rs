//! The canary controller on hand-made views: each reconcile's moves, router weights and step
//! completion, as Argo's `rollout/canary.go` and `rollout/trafficrouting.go` take them.

use super::*;
use crate::strategy::test_support::{at, decide, rs, scales, V1, V2};

fn spec(steps: Vec<CanaryStep>, routing: Option<TrafficRouting>) -> CanarySpec {
    CanarySpec {
        replicas: 10,
        versions: 2,
        steps,
        max_surge: IntOrPercent::Percent(25),
        max_unavailable: IntOrPercent::Percent(25),
        traffic_routing: routing,
        background_analysis: None,
        scale_down_delay: SimDuration::from_secs(30),
        abort_scale_down_delay: Some(SimDuration::from_secs(30)),
        promote_at: vec![],
    }
}

fn routed(max_weight: u32) -> Option<TrafficRouting> {
    Some(TrafficRouting {
        max_weight,
        ..TrafficRouting::default()
    })
}

fn weights(d: &Decision) -> Option<Vec<u32>> {
    d.actions.iter().find_map(|a| match a {
        Action::SetWeights(w) => w.clone(),
        _ => None,
    })
}

#[test]
fn routed_canary_creates_scales_then_routes_once_pods_are_available() {
    let steps = vec![
        CanaryStep::SetWeight(10),
        CanaryStep::Pause(Some(SimDuration::from_secs(30))),
    ];
    let mut c = Canary::new(spec(steps, routed(100)), V1);
    c.start(V2, at(60));
    let d = decide(&mut c, at(60), &[rs(0, V1, 10, 10)]);
    assert!(matches!(
        d.actions[..],
        [Action::CreateReplicaSet {
            version: V2,
            replicas: 0,
            revision: 2
        }]
    ));
    // The canary RS exists with no pod: scale it to ceil(10 % × 10) = 1; no weight yet.
    let d = decide(&mut c, at(60), &[rs(0, V1, 10, 10), rs(1, V2, 0, 0)]);
    assert_eq!(scales(&d), [(1, 1)]);
    assert_eq!(weights(&d), None);
    // Its pod is not available yet: still no weight, the step waits.
    let d = decide(&mut c, at(61), &[rs(0, V1, 10, 10), rs(1, V2, 1, 0)]);
    assert!(d.actions.is_empty(), "{d:?}");
    // Available: the router moves to 90/10 and the step completes.
    let d = decide(&mut c, at(70), &[rs(0, V1, 10, 10), rs(1, V2, 1, 1)]);
    assert_eq!(weights(&d), Some(vec![90, 10]));
    assert_eq!(d.requeue_at, Some(at(70)));
    // The pause completes strictly after 30 s.
    let rss = [rs(0, V1, 10, 10), rs(1, V2, 1, 1)];
    let d = decide(&mut c, at(70), &rss);
    assert_eq!(d.requeue_at, Some(at(100) + SimDuration::from_micros(1)));
    let d = decide(&mut c, at(100) + SimDuration::from_micros(1), &rss);
    assert_eq!(d.requeue_at, Some(at(100) + SimDuration::from_micros(1)));
}

#[test]
fn no_weight_goes_to_a_canary_without_available_pods() {
    let steps = vec![
        CanaryStep::SetCanaryScale(CanaryScale::Replicas(0)),
        CanaryStep::SetWeight(30),
        CanaryStep::Pause(Some(SimDuration::from_secs(10))),
    ];
    let mut c = Canary::new(spec(steps, routed(100)), V1);
    c.start(V2, at(0));
    let rss = [rs(0, V1, 10, 10), rs(1, V2, 0, 0)];
    for _ in 0..3 {
        let d = decide(&mut c, at(0), &rss);
        assert_eq!(weights(&d), None, "{d:?}");
    }
    // Both steps completed at weight 0: the pause is running.
    assert_eq!(c.step, 2);
    assert_eq!(c.router.map(|r| r.canary), Some(0));
}

#[test]
fn max_traffic_weight_sets_the_scale_of_weights_and_of_full_promotion() {
    let steps = vec![CanaryStep::SetWeight(250)];
    let mut c = Canary::new(spec(steps, routed(1000)), V1);
    c.start(V2, at(0));
    // 250 of 1000 is 25 %: 3 pods of 10.
    let d = decide(&mut c, at(0), &[rs(0, V1, 10, 10), rs(1, V2, 0, 0)]);
    assert_eq!(scales(&d), [(1, 3)]);
    let d = decide(&mut c, at(1), &[rs(0, V1, 10, 10), rs(1, V2, 3, 3)]);
    assert_eq!(weights(&d), Some(vec![750, 250]));
    // After the last step the weight is the maximum, and the canary goes to full size.
    let d = decide(&mut c, at(1), &[rs(0, V1, 10, 10), rs(1, V2, 3, 3)]);
    assert_eq!(scales(&d), [(1, 10)]);
    let d = decide(&mut c, at(2), &[rs(0, V1, 10, 10), rs(1, V2, 10, 10)]);
    assert_eq!(weights(&d), Some(vec![0, 1000]));
    assert!(d.reports.contains(&Report::Promoted));
}

#[test]
fn a_lower_weight_keeps_the_higher_one_until_the_canary_has_shrunk() {
    let steps = vec![CanaryStep::SetWeight(60), CanaryStep::SetWeight(20)];
    let mut c = Canary::new(spec(steps, routed(100)), V1);
    c.start(V2, at(0));
    decide(&mut c, at(0), &[rs(0, V1, 10, 10), rs(1, V2, 0, 0)]);
    let d = decide(&mut c, at(1), &[rs(0, V1, 10, 10), rs(1, V2, 6, 6)]);
    assert_eq!(weights(&d), Some(vec![40, 60]));
    // Step 2 (20 %): at 6 pods the counts are not reached, so the router stays at 60 while
    // the canary shrinks to 2 (Argo uses the previous setWeight until then).
    let d = decide(&mut c, at(1), &[rs(0, V1, 10, 10), rs(1, V2, 6, 6)]);
    assert_eq!(weights(&d), None);
    assert_eq!(scales(&d), [(1, 2)]);
    let d = decide(&mut c, at(2), &[rs(0, V1, 10, 10), rs(1, V2, 2, 2)]);
    assert_eq!(weights(&d), Some(vec![80, 20]));
}

#[test]
fn an_abort_routes_everything_back_to_the_stable_at_once() {
    let steps = vec![CanaryStep::SetWeight(30), CanaryStep::Pause(None)];
    let mut c = Canary::new(spec(steps, routed(100)), V1);
    c.start(V2, at(0));
    let rss = [rs(0, V1, 10, 10), rs(1, V2, 3, 3)];
    decide(&mut c, at(0), &rss);
    let d = decide(&mut c, at(0), &rss);
    assert!(d.reports.contains(&Report::Paused));
    assert!(c.undo(&rss, at(5)));
    let d = decide(&mut c, at(5), &rss);
    assert_eq!(weights(&d), Some(vec![100, 0]));
    assert!(d.reports.contains(&Report::Aborted));
    // abortScaleDownDelaySeconds: the canary goes to 0 after 30 s.
    let d = decide(&mut c, at(6), &rss);
    assert_eq!(scales(&d), []);
    let d = decide(&mut c, at(35), &rss);
    assert_eq!(scales(&d), [(1, 0)]);
}

#[test]
fn a_basic_canary_moves_the_stable_first_and_sets_no_weights() {
    let mut c = Canary::new(spec(vec![CanaryStep::SetWeight(20)], None), V1);
    c.start(V2, at(0));
    // 25 %/25 % of 10: surge 3, unavailable 2; targets 2 canary / 8 stable (notes §2.5).
    let d = decide(&mut c, at(0), &[rs(0, V1, 10, 10), rs(1, V2, 0, 0)]);
    assert_eq!(scales(&d), [(0, 8)]);
    let d = decide(&mut c, at(0), &[rs(0, V1, 8, 8), rs(1, V2, 0, 0)]);
    assert_eq!(scales(&d), [(1, 2)]);
    assert!(d
        .actions
        .iter()
        .all(|a| !matches!(a, Action::SetWeights(_))));
    assert_eq!(c.initial_weights(), None);
}

#[test]
fn an_indefinite_pause_ends_at_an_absolute_promote_time() {
    let steps = vec![CanaryStep::SetWeight(10), CanaryStep::Pause(None)];
    let mut s = spec(steps, routed(100));
    s.promote_at = vec![at(180)];
    let mut c = Canary::new(s, V1);
    c.start(V2, at(60));
    let rss = [rs(0, V1, 10, 10), rs(1, V2, 1, 1)];
    decide(&mut c, at(60), &rss);
    let d = decide(&mut c, at(60), &rss);
    assert!(d.reports.contains(&Report::Paused));
    assert_eq!(d.requeue_at, Some(at(180)));
    let d = decide(&mut c, at(179), &rss);
    assert_eq!(c.step, 1, "{d:?}");
    decide(&mut c, at(180), &rss);
    assert_eq!(c.step, 2);
    let d = decide(&mut c, at(180), &rss);
    assert_eq!(scales(&d), [(1, 10)], "{d:?}");
}

/// A later rollout (`[[steps]]`) starts afresh: its own indefinite pause is reported again,
/// not taken for the previous rollout's.
#[test]
fn a_second_rollout_reports_its_own_pause() {
    let v3 = VersionId(2);
    let steps = vec![CanaryStep::SetWeight(30), CanaryStep::Pause(None)];
    let mut s = spec(steps, routed(100));
    s.versions = 3;
    let mut c = Canary::new(s, V1);
    c.start(V2, at(0));
    let rss = [rs(0, V1, 10, 10), rs(1, V2, 3, 3)];
    decide(&mut c, at(0), &rss);
    assert!(decide(&mut c, at(0), &rss)
        .reports
        .contains(&Report::Paused));
    assert!(c.undo(&rss, at(5)));
    decide(&mut c, at(5), &rss);
    c.start(v3, at(100));
    let rss = [rs(0, V1, 10, 10), rs(1, V2, 0, 0), rs(2, v3, 3, 3)];
    decide(&mut c, at(100), &rss);
    let d = decide(&mut c, at(100), &rss);
    assert!(d.reports.contains(&Report::Paused), "{d:?}");
}
