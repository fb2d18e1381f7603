//! The blue-green controller on hand-made views (`rollout/bluegreen.go`): preview, switch,
//! scale-down delay, manual promotion at an absolute time, abort.

use super::*;
use crate::model::RsId;
use crate::strategy::test_support::{at, decide, rs, V1, V2};

fn spec() -> BlueGreenSpec {
    BlueGreenSpec {
        replicas: 4,
        versions: 2,
        preview_replicas: None,
        auto_promotion: true,
        auto_promotion_after: SimDuration::ZERO,
        promote_at: None,
        scale_down_delay: SimDuration::from_secs(30),
        abort_scale_down_delay: Some(SimDuration::from_secs(30)),
        smoke_test: None,
        pre_promotion: None,
        post_promotion: None,
    }
}

#[test]
fn preview_comes_up_then_one_switch_then_the_old_set_goes_after_the_delay() {
    let mut c = BlueGreen::new(spec(), V1);
    assert_eq!(c.initial_weights(), Some(vec![100, 0]));
    c.start(V2, at(10));
    let d = decide(&mut c, at(10), &[rs(0, V1, 4, 4)]);
    assert!(matches!(
        d.actions[..],
        [Action::CreateReplicaSet {
            version: V2,
            replicas: 4,
            revision: 2
        }]
    ));
    // Not available yet: nothing moves, traffic stays on v1.
    let d = decide(&mut c, at(11), &[rs(0, V1, 4, 4), rs(1, V2, 4, 3)]);
    assert!(d.actions.is_empty());
    let d = decide(&mut c, at(20), &[rs(0, V1, 4, 4), rs(1, V2, 4, 4)]);
    assert_eq!(d.actions, [Action::SetWeights(Some(vec![0, 100]))]);
    assert!(d.reports.contains(&Report::Promoted));
    assert_eq!(d.requeue_at, Some(at(50)));
    // Within scaleDownDelaySeconds the old set keeps its pods (an instant rollback is possible).
    let d = decide(&mut c, at(30), &[rs(0, V1, 4, 4), rs(1, V2, 4, 4)]);
    assert!(d.actions.is_empty());
    let d = decide(&mut c, at(50), &[rs(0, V1, 4, 4), rs(1, V2, 4, 4)]);
    assert_eq!(
        d.actions,
        [Action::Scale {
            rs: RsId(0),
            replicas: 0
        }]
    );
    let d = decide(&mut c, at(50), &[rs(0, V1, 0, 0), rs(1, V2, 4, 4)]);
    assert!(d.reports.contains(&Report::Completed), "{d:?}");
}

#[test]
fn a_preview_count_is_used_until_the_checkpoint_then_full_size() {
    let mut s = spec();
    s.preview_replicas = Some(1);
    let mut c = BlueGreen::new(s, V1);
    c.start(V2, at(0));
    let d = decide(&mut c, at(0), &[rs(0, V1, 4, 4)]);
    assert!(matches!(
        d.actions[..],
        [Action::CreateReplicaSet { replicas: 1, .. }]
    ));
    let d = decide(&mut c, at(5), &[rs(0, V1, 4, 4), rs(1, V2, 1, 1)]);
    assert_eq!(
        d.actions,
        [Action::Scale {
            rs: RsId(1),
            replicas: 4
        }]
    );
}

#[test]
fn manual_promotion_waits_for_the_absolute_promote_time() {
    let mut s = spec();
    s.auto_promotion = false;
    s.promote_at = Some(at(120));
    let mut c = BlueGreen::new(s, V1);
    c.start(V2, at(60));
    let rss = [rs(0, V1, 4, 4), rs(1, V2, 4, 4)];
    let d = decide(&mut c, at(70), &rss);
    assert!(d.reports.contains(&Report::Paused));
    assert_eq!(d.requeue_at, Some(at(120)));
    let d = decide(&mut c, at(120), &rss);
    assert_eq!(d.actions, [Action::SetWeights(Some(vec![0, 100]))]);
}

#[test]
fn an_abort_after_the_switch_goes_back_to_the_still_running_old_set() {
    let mut c = BlueGreen::new(spec(), V1);
    c.start(V2, at(0));
    let rss = [rs(0, V1, 4, 4), rs(1, V2, 4, 4)];
    decide(&mut c, at(1), &rss);
    assert!(c.undo(&rss, at(5)));
    let d = decide(&mut c, at(5), &rss);
    assert_eq!(d.actions, [Action::SetWeights(Some(vec![100, 0]))]);
    assert!(d.reports.contains(&Report::Aborted));
    assert_eq!(d.requeue_at, Some(at(35)));
    let d = decide(&mut c, at(35), &rss);
    assert_eq!(
        d.actions,
        [Action::Scale {
            rs: RsId(1),
            replicas: 0
        }]
    );
}

/// A later rollout (`[[steps]]`) starts afresh from the promoted version: the preview at
/// `previewReplicaCount` again and the smoke test again, not the previous rollout's checkpoint.
#[test]
fn a_second_rollout_starts_afresh_from_the_promoted_version() {
    let v3 = VersionId(2);
    let mut s = spec();
    s.versions = 3;
    s.preview_replicas = Some(1);
    s.smoke_test = Some(SmokeTest {
        requests: 10,
        over: SimDuration::from_secs(5),
    });
    let mut c = BlueGreen::new(s, V1);
    c.start(V2, at(0));
    decide(&mut c, at(0), &[rs(0, V1, 4, 4)]);
    let d = decide(&mut c, at(5), &[rs(0, V1, 4, 4), rs(1, V2, 1, 1)]);
    assert!(
        matches!(d.actions[..], [Action::SmokeTest { .. }, ..]),
        "{d:?}"
    );
    decide(&mut c, at(6), &[rs(0, V1, 4, 4), rs(1, V2, 4, 4)]);
    decide(&mut c, at(40), &[rs(0, V1, 4, 4), rs(1, V2, 4, 4)]);
    let d = decide(&mut c, at(40), &[rs(0, V1, 0, 0), rs(1, V2, 4, 4)]);
    assert!(d.reports.contains(&Report::Completed), "{d:?}");
    // The second rollout: v2 is the stable (active) version now.
    c.start(v3, at(100));
    let done = [rs(0, V1, 0, 0), rs(1, V2, 4, 4)];
    let d = decide(&mut c, at(100), &done);
    assert!(
        matches!(
            d.actions[..],
            [Action::CreateReplicaSet {
                version,
                replicas: 1,
                revision: 3
            }] if version == v3
        ),
        "{d:?}"
    );
    let d = decide(
        &mut c,
        at(105),
        &[done[0].clone(), done[1].clone(), rs(2, v3, 1, 1)],
    );
    assert!(
        matches!(d.actions[..], [Action::SmokeTest { .. }, ..]),
        "{d:?}"
    );
}
