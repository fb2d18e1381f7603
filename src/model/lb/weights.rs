//! Router weights published by a controller and learned by the balancer later: an Argo
//! Rollouts service switch, a mesh `VirtualService` weight, an ALB listener rule's weighted
//! target groups. Each publication gets a generation; it takes effect after the `add`
//! propagation delay, and one that arrives after a later publication was learned is stale.
//! With `HealthScope::PerReload` learning new weights is a configuration reload.

use super::Balancer;
use crate::engine::{RngStream, SimDuration, SimTime};

/// Publications not yet learned, and the generations published and learned.
#[derive(Clone, Debug, Default)]
pub(super) struct Published {
    pending: Vec<(u32, Option<Vec<u32>>)>,
    published: u32,
    learned: u32,
}

impl Balancer {
    /// A controller publishes `weights`: returns the publication's generation and the delay
    /// after which the router learns it (drawn from `rng`, the control-plane stream).
    pub fn publish_weights(
        &mut self,
        weights: Option<Vec<u32>>,
        rng: &mut RngStream,
    ) -> (u32, SimDuration) {
        let w = &mut self.weights;
        w.published += 1;
        let generation = w.published;
        w.pending.push((generation, weights));
        (generation, self.spec.propagation.add.sample(rng))
    }

    /// The router learns publication `generation`. Returns whether the weights in force
    /// changed (false for a stale or unknown publication).
    pub fn learn_weights(&mut self, generation: u32, now: SimTime) -> bool {
        let w = &mut self.weights;
        let Some(i) = w.pending.iter().position(|(g, _)| *g == generation) else {
            return false;
        };
        let (_, weights) = w.pending.remove(i);
        // A later publication that arrived first wins; this one is stale.
        if generation <= w.learned {
            return false;
        }
        w.learned = generation;
        self.reload(now);
        self.cur.weights = weights;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{lb_with, nginx_spec};
    use super::*;
    use crate::engine::StreamName;
    use crate::model::{Balancer, LbPolicy};

    #[test]
    fn a_stale_publication_does_not_overwrite_a_later_one() {
        let mut lb = lb_with(LbPolicy::Random, 2, 0);
        let mut rng = RngStream::new(1, StreamName::Control);
        let (g1, _) = lb.publish_weights(Some(vec![100, 0]), &mut rng);
        let (g2, _) = lb.publish_weights(Some(vec![0, 100]), &mut rng);
        assert!(lb.learn_weights(g2, SimTime(1)));
        assert!(!lb.learn_weights(g1, SimTime(2)));
        assert_eq!(lb.weights(), Some(&[0, 100][..]));
        assert!(!lb.learn_weights(g1, SimTime(3)), "learned once only");
    }

    #[test]
    fn learning_weights_is_a_reload_for_nginx() {
        let mut lb = Balancer::new(nginx_spec(), 2, 1);
        let mut rng = RngStream::new(1, StreamName::Control);
        let (g, _) = lb.publish_weights(Some(vec![50, 50]), &mut rng);
        assert!(lb.learn_weights(g, SimTime(5)));
        assert_eq!(lb.reloads(), 1);
    }
}
