//! Newtype indices: a pod, ReplicaSet or version id is a position in a `Vec`, never a key in a
//! randomly ordered map, so iteration order is the same on every run.

/// A pod, by creation order. Pods are never removed from the cluster's table (a gone pod stays
/// as a tombstone), so ids stay valid for the whole run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodId(pub u32);

/// A ReplicaSet, by creation order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RsId(pub u32);

/// A version (an application release), by its order in the scenario file.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionId(pub u16);

impl PodId {
    /// Index into the pod table.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
impl RsId {
    /// Index into the ReplicaSet table.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
impl VersionId {
    /// Index into per-version tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
