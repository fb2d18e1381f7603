//! Feature-flag bucketing (being written).
