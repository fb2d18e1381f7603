//! The pending-event queue: a min-heap keyed by (time, insertion sequence).
//!
//! Same-time events run first-in first-out, as in nexosim's epoch-tagged queue and simcore's
//! (time, id) order; this is what makes two runs of one scenario byte-identical.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use super::SimTime;

/// `key` packs (time, seq) into one integer, time in the high half, so one comparison orders
/// by time and then by scheduling order.
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> Entry<E> {
    fn time(&self) -> SimTime {
        SimTime((self.key >> 64) as u64)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the earliest, lowest-sequence entry.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// Pending events of type `E`, popped in (time, scheduling order).
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    /// Events scheduled in time order (see [`EventQueue::schedule_in_order`]), kept beside the
    /// heap so they never pay for a sift through it.
    fifo: VecDeque<Entry<E>>,
    next_seq: u64,
    now: SimTime,
    processed: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
            fifo: VecDeque::new(),
            next_seq: 0,
            now: SimTime::ZERO,
            processed: 0,
        }
    }

    /// The time of the event most recently popped (the simulation clock).
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// How many events have been popped so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// How many events are waiting.
    pub fn len(&self) -> usize {
        self.heap.len() + self.fifo.len()
    }

    /// True when no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.fifo.is_empty()
    }

    /// Schedules `event` at `time`. A time in the past is moved to now: the clock never runs
    /// backwards, whatever a model asks for.
    pub fn schedule(&mut self, time: SimTime, event: E) {
        let time = time.max(self.now);
        let key = self.key(time);
        self.heap.push(Entry { key, event });
    }

    /// Like [`EventQueue::schedule`], for a stream of events each scheduled no earlier than
    /// the previous one (the next arrival): they wait in a FIFO beside the heap. The pop order
    /// is exactly the same as with `schedule`; an out-of-order event simply goes to the heap.
    pub fn schedule_in_order(&mut self, time: SimTime, event: E) {
        let key = self.key(time);
        if self.fifo.back().is_none_or(|last| last.key < key) {
            self.fifo.push_back(Entry { key, event });
        } else {
            self.heap.push(Entry { key, event });
        }
    }

    fn key(&mut self, time: SimTime) -> u128 {
        let time = time.max(self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        (u128::from(time.as_micros()) << 64) | u128::from(seq)
    }

    /// Whether the next event comes from the FIFO rather than the heap.
    fn fifo_first(&self) -> bool {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(f), Some(h)) => f.key < h.key,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        if self.fifo_first() {
            self.fifo.front().map(Entry::time)
        } else {
            self.heap.peek().map(Entry::time)
        }
    }

    /// Pops the next event and advances the clock to its time.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let entry = if self.fifo_first() {
            self.fifo.pop_front()?
        } else {
            self.heap.pop()?
        };
        let time = entry.time();
        debug_assert!(time >= self.now, "event queue went back in time");
        self.now = time;
        self.processed += 1;
        Some((time, entry.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_time_events_pop_in_scheduling_order() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(10), "b1");
        q.schedule(SimTime(5), "a");
        q.schedule(SimTime(10), "b2");
        q.schedule(SimTime(10), "b3");
        q.schedule(SimTime(7), "x");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "x", "b1", "b2", "b3"]);
        assert_eq!(q.processed(), 5);
        assert_eq!(q.now(), SimTime(10));
    }

    #[test]
    fn in_order_events_interleave_with_the_heap_exactly() {
        let mut q = EventQueue::new();
        q.schedule_in_order(SimTime(10), "a10");
        q.schedule(SimTime(10), "h10");
        q.schedule(SimTime(5), "h5");
        q.schedule_in_order(SimTime(20), "a20");
        q.schedule_in_order(SimTime(15), "a15-out-of-order");
        q.schedule(SimTime(20), "h20");
        assert_eq!(q.len(), 6);
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(
            order,
            ["h5", "a10", "h10", "a15-out-of-order", "a20", "h20"]
        );
        assert!(q.is_empty());
    }

    #[test]
    fn scheduling_in_the_past_runs_now() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(100), 1);
        q.pop();
        q.schedule(SimTime(3), 2);
        assert_eq!(q.pop(), Some((SimTime(100), 2)));
    }
}
